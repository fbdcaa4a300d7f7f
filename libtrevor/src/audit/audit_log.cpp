#include <charconv>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "db/dialect.hpp"
#include "db/rows.hpp"
#include "db/transaction.hpp"
#include "store/audit_store.hpp"
#include "store/multi_insert.hpp"
#include "trevor/audit.hpp"
#include "trevor/error.hpp"

namespace trevor {
namespace detail {
namespace {

constexpr const char* insert_sql =
    "INSERT INTO audit_events (id, actor, event_type, request_id, project_id, payload) "
    "VALUES (:id, :actor, :event_type, :request_id, :project_id, :payload) "
    "RETURNING seq, {t:occurred_at}";

constexpr const char* select_columns =
    "SELECT id, seq, {t:occurred_at}, actor, event_type, request_id, project_id, payload "
    "FROM audit_events";

/// The audit insert, prepared once per connection and re-executed.
struct audit_insert final : cached_statement {
  std::string id, actor, event_type, payload;
  nullable_text request_id, project_id;
  long long seq = 0;
  std::string occurred_at;
  soci::statement st;

  explicit audit_insert(connection& c)
      : st((c.sql.prepare << expanded(insert_sql, c.kind()), soci::use(id), soci::use(actor),
            soci::use(event_type), soci::use(request_id.value, request_id.ind),
            soci::use(project_id.value, project_id.ind), soci::use(payload), soci::into(seq),
            soci::into(occurred_at))) {}
};

bool is_event_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool valid_event_type(std::string_view t) {
  if (t.size() < 3 || t.size() > 100) return false;
  bool saw_dot = false;
  char prev = '.';
  for (char c : t) {
    if (c == '.') {
      if (prev == '.') return false;
      saw_dot = true;
    } else if (!is_event_word_char(c)) {
      return false;
    }
    prev = c;
  }
  return saw_dot && prev != '.';
}

audit_event read_event(const soci::row& r) {
  audit_event e;
  e.id = get_uuid(r, 0);
  e.seq = get_i64(r, 1);
  e.occurred_at = get_ts(r, 2);
  e.actor = get_str(r, 3);
  e.event_type = get_str(r, 4);
  e.request_id = get_opt_uuid(r, 5);
  e.project_id = get_opt_uuid(r, 6);
  e.payload_json = get_str(r, 7);
  return e;
}

struct cursor_pos {
  timestamp at;
  long long seq;
};

std::string encode_cursor(const audit_event& e) {
  return fmt::format("{}.{}", e.occurred_at.micros(), e.seq);
}

cursor_pos decode_cursor(std::string_view s) {
  const auto dot = s.find('.');
  std::int64_t us = 0;
  long long seq = 0;
  const bool ok =
      dot != std::string_view::npos &&
      std::from_chars(s.data(), s.data() + dot, us).ptr == s.data() + dot &&
      std::from_chars(s.data() + dot + 1, s.data() + s.size(), seq).ptr == s.data() + s.size() &&
      seq > 0;
  if (!ok) throw error(errc::invalid_argument, "cursor: not a cursor this API returned");
  return {timestamp(us), seq};
}

}  // namespace

void validate_audit_event(const audit_event_input& e) {
  if (e.actor.empty() || e.actor.size() > 255)
    throw error(errc::invalid_argument, "audit event: actor must be 1 to 255 bytes");
  if (!valid_event_type(e.event_type))
    throw error(errc::invalid_argument,
                fmt::format("audit event: event type '{}' is not of the form 'namespace.name' "
                            "(lower-case letters, digits and '_', at most 100 bytes)",
                            e.event_type));
  if ((e.request_id && e.request_id->is_nil()) || (e.project_id && e.project_id->is_nil()))
    throw error(errc::invalid_argument, "audit event: request_id and project_id may not be nil");
  boost::system::error_code ec;
  const auto v = boost::json::parse(e.payload_json, ec);
  if (ec || !v.is_object())
    throw error(errc::invalid_argument, "audit event: payload must be a JSON object");
}

audit_event insert_audit_event(connection& c, const audit_event_input& e, const uuid& id) {
  auto& s = c.cached<audit_insert>();
  s.id = id.str();
  s.actor = e.actor;
  s.event_type = e.event_type;
  s.request_id = nullable_text(e.request_id);
  s.project_id = nullable_text(e.project_id);
  s.payload = e.payload_json;
  try {
    s.st.execute(true);
    // Step past the single RETURNING row: on SQLite the statement stays active
    // (holding its transaction open) until it has reported that it is done.
    while (s.st.fetch()) {
    }
  } catch (...) {
    c.forget<audit_insert>();
    throw;
  }
  audit_event out;
  out.id = id;
  out.seq = s.seq;
  out.occurred_at = timestamp::parse_or_throw(s.occurred_at, "occurred_at");
  out.actor = e.actor;
  out.event_type = e.event_type;
  out.request_id = e.request_id;
  out.project_id = e.project_id;
  out.payload_json = e.payload_json;
  return out;
}

void insert_audit_events(connection& c, std::span<const audit_event_input> events,
                         std::span<const uuid> ids) {
  if (events.empty()) return;
  if (events.size() == 1) {
    insert_audit_event(c, events[0], ids[0]);  // the prepared single-row statement
    return;
  }
  std::vector<nullable_text> values;
  values.reserve(events.size() * 6);
  const auto text = [](std::string v) {
    return nullable_text(std::optional<std::string>(std::move(v)));
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    values.push_back(text(ids[i].str()));
    values.push_back(text(events[i].actor));
    values.push_back(text(events[i].event_type));
    values.emplace_back(events[i].request_id);
    values.emplace_back(events[i].project_id);
    values.push_back(text(events[i].payload_json));
  }
  execute_multi_insert(
      c, "INSERT INTO audit_events (id, actor, event_type, request_id, project_id, payload)",
      "(CAST($ AS {uuid}), $, $, CAST($ AS {uuid}), CAST($ AS {uuid}), CAST($ AS {json}))",
      events.size(), values);
}

}  // namespace detail

audit_log::audit_log(database db, id_source* ids) : db_(std::move(db)), ids_(ids) {}

audit_event audit_log::append(const audit_event_input& event) {
  detail::validate_audit_event(event);
  const uuid id = ids_ ? ids_->next() : uuid::v7();
  // One INSERT is atomic on its own: no BEGIN/COMMIT round trips.
  return detail::run_statement(db_.impl(), "audit append", [&](detail::connection& c) {
    return detail::insert_audit_event(c, event, id);
  });
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

namespace detail {

audit_select build_audit_select(const audit_query& q, engine kind) {
  if (q.limit < 1 || q.limit > max_audit_page)
    throw error(errc::invalid_argument,
                fmt::format("limit must be between 1 and {}", max_audit_page));
  audit_select s;
  if (q.event_type_prefix && !q.event_type_prefix->empty()) {
    s.type_lo = *q.event_type_prefix;
    for (char ch : s.type_lo)
      if (!(ch == '.' || is_event_word_char(ch)))
        throw error(errc::invalid_argument,
                    fmt::format("event_type: '{}' is not an event-type prefix (lower-case letters, "
                                "digits, '_' and '.')",
                                s.type_lo));
    // Every string starting with the prefix sorts in [prefix, prefix with its
    // last byte incremented): an index range scan on both engines.
    s.type_hi = s.type_lo;
    s.type_hi.back() = static_cast<char>(s.type_hi.back() + 1);
  }
  std::optional<cursor_pos> after;
  if (!q.cursor.empty()) after = decode_cursor(q.cursor);

  const bool newest = q.order == audit_order::newest_first;
  s.sql = expand_sql(select_columns, kind);
  std::vector<std::string> where;
  if (q.project_id) where.emplace_back("project_id = :project_id");
  if (q.request_id) where.emplace_back("request_id = :request_id");
  if (q.actor) where.emplace_back("actor = :actor");
  if (!s.type_lo.empty()) where.emplace_back("event_type >= :type_lo AND event_type < :type_hi");
  if (q.since) where.emplace_back("occurred_at >= :since");
  if (q.until) where.emplace_back("occurred_at < :until");
  if (after)
    where.emplace_back(newest ? "(occurred_at, seq) < (:cursor_at, :cursor_seq)"
                              : "(occurred_at, seq) > (:cursor_at, :cursor_seq)");
  for (std::size_t i = 0; i < where.size(); ++i) s.sql += (i ? " AND " : " WHERE ") + where[i];
  s.sql += newest ? " ORDER BY occurred_at DESC, seq DESC" : " ORDER BY occurred_at, seq";
  s.sql += " LIMIT :limit";

  if (q.project_id) s.project = q.project_id->str();
  if (q.request_id) s.request = q.request_id->str();
  if (q.actor) s.actor = *q.actor;
  if (q.since) s.since = q.since->str();
  if (q.until) s.until = q.until->str();
  if (after) {
    s.cursor_at = after->at.str();
    s.cursor_seq = after->seq;
  }
  s.limit = static_cast<long long>(q.limit) + 1;
  return s;
}

void audit_select::bind(soci::details::prepare_temp_type& prep) const {
  if (project) prep, soci::use(*project, "project_id");
  if (request) prep, soci::use(*request, "request_id");
  if (actor) prep, soci::use(*actor, "actor");
  if (!type_lo.empty()) prep, soci::use(type_lo, "type_lo"), soci::use(type_hi, "type_hi");
  if (since) prep, soci::use(*since, "since");
  if (until) prep, soci::use(*until, "until");
  if (cursor_at) prep, soci::use(*cursor_at, "cursor_at"), soci::use(cursor_seq, "cursor_seq");
  prep, soci::use(limit, "limit");
}

}  // namespace detail

audit_page audit_log::query(const audit_query& q) const {
  const auto select = detail::build_audit_select(q, db_.kind());
  return detail::run_statement(db_.impl(), "audit query", [&](detail::connection& c) {
    soci::details::prepare_temp_type prep = (c.sql.prepare << select.sql);
    select.bind(prep);
    soci::rowset<soci::row> rows(prep);
    audit_page page;
    for (const auto& r : rows) page.items.push_back(detail::read_event(r));
    if (page.items.size() > q.limit) {
      page.items.pop_back();
      page.next_cursor = detail::encode_cursor(page.items.back());
    }
    return page;
  });
}

std::int64_t audit_log::count() const {
  return detail::run_statement(db_.impl(), "audit count", [](detail::connection& c) {
    long long n = 0;
    c.sql << "SELECT count(*) FROM audit_events", soci::into(n);
    return static_cast<std::int64_t>(n);
  });
}

}  // namespace trevor
