// dashboard: the admin dashboard's read models (domain §6).
#include "trevor/dashboard.hpp"

#include <fmt/format.h>

#include "db/transaction.hpp"
#include "service/common.hpp"
#include "trevor/error.hpp"

namespace trevor {

using detail::connection;
using mode = detail::transaction::mode;

std::string csv_cell(std::string_view text) {
  std::string cell;
  cell.reserve(text.size() + 3);
  if (!text.empty() && (text.front() == '=' || text.front() == '+' || text.front() == '-' ||
                        text.front() == '@' || text.front() == '\t' || text.front() == '\r'))
    cell.push_back('\'');
  cell.append(text);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char ch : cell) {
    if (ch == '"') quoted.push_back('"');
    quoted.push_back(ch);
  }
  quoted.push_back('"');
  return quoted;
}

dashboard::dashboard(database db) : db_(std::move(db)) {}

void dashboard::require_admin(const actor& who) const {
  if (!who.tre_admin) throw error(errc::forbidden, "the admin dashboard is for tre_admin only");
  detail::run_transaction(db_.impl(), mode::read, "dashboard",
                          [&](connection& c) { detail::require_active_user(c, who); });
}

audit_page dashboard::audit_search(const actor& who, const audit_query& q) const {
  require_admin(who);
  return audit_log(db_).query(q);
}

void dashboard::audit_export_csv(const actor& who, audit_query q, const byte_writer& sink) const {
  require_admin(who);
  audit_log log(db_);
  q.limit = max_audit_page;
  q.cursor.clear();
  std::string chunk = std::string(audit_csv_header) + "\r\n";
  for (;;) {
    auto page = log.query(q);
    for (const auto& e : page.items) {
      chunk += csv_cell(e.id.str());
      chunk += ',';
      chunk += csv_cell(e.occurred_at.str());
      chunk += ',';
      chunk += csv_cell(e.event_type);
      chunk += ',';
      chunk += csv_cell(e.actor);
      chunk += ',';
      chunk += csv_cell(e.request_id ? e.request_id->str() : std::string());
      chunk += ',';
      chunk += csv_cell(e.payload_json);
      chunk += "\r\n";
    }
    sink(chunk);
    chunk.clear();
    if (page.next_cursor.empty()) return;
    q.cursor = std::move(page.next_cursor);
  }
}

}  // namespace trevor
