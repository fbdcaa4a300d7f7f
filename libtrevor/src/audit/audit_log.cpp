// trevor::audit_log: the public entry point to the audit trail; the SQL is
// the store's (store/audit_store.cpp).
#include "trevor/audit.hpp"

#include "db/transaction.hpp"
#include "store/audit_store.hpp"

namespace trevor {

audit_log::audit_log(database db, id_source* ids) : db_(std::move(db)), ids_(ids) {}

audit_event audit_log::append(const audit_event_input& event) {
  detail::validate_audit_event(event);
  const uuid id = ids_ ? ids_->next() : uuid::v7();
  // One INSERT is atomic on its own: no BEGIN/COMMIT round trips.
  return detail::run_statement(
      db_.impl(), "audit append",
      [&](detail::connection& c) { return detail::insert_audit_event(c, event, id); },
      detail::statement_kind::write);
}

std::vector<audit_event> audit_log::append_many(std::span<const audit_event_input> events) {
  for (const auto& e : events) detail::validate_audit_event(e);
  std::vector<uuid> ids;
  ids.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) ids.push_back(ids_ ? ids_->next() : uuid::v7());
  if (events.empty()) return {};
  return detail::run_transaction(
      db_.impl(), detail::transaction::mode::write, "audit append", [&](detail::connection& c) {
        std::vector<audit_event> out;
        out.reserve(events.size());
        for (std::size_t i = 0; i < events.size(); ++i)
          out.push_back(detail::insert_audit_event(c, events[i], ids[i]));
        return out;
      });
}

audit_page audit_log::query(const audit_query& q) const {
  const auto select = detail::build_audit_select(q, db_.kind());
  return detail::run_transaction(db_.impl(), detail::transaction::mode::read, "audit query",
                                 [&](detail::connection& c) {
                                   if (auto page = detail::select_audit_page_by_types(c, q))
                                     return std::move(*page);
                                   return detail::select_audit_page(c, select, q.limit);
                                 });
}

std::int64_t audit_log::count() const {
  return detail::run_statement(db_.impl(), "audit count", [](detail::connection& c) {
    return static_cast<std::int64_t>(detail::count_audit_events(c));
  });
}

}  // namespace trevor
