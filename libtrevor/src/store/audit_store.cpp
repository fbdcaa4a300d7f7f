#include "store/audit_store.hpp"

#include <charconv>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "store/multi_insert.hpp"
#include "store/query.hpp"
#include "trevor/error.hpp"

namespace trevor::detail {
namespace {

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

constexpr char audit_insert_head[] =
    "INSERT INTO audit_events (id, actor, event_type, request_id, project_id, payload)";
constexpr char audit_insert_row[] =
    "(CAST($ AS {uuid}), $, $, CAST($ AS {uuid}), CAST($ AS {uuid}), CAST($ AS {json}))";

std::vector<nullable_text> audit_event_values(std::span<const audit_event_input> events,
                                              std::span<const uuid> ids) {
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
  return values;
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
  // Prepared once per connection: every workflow step appends events.
  static constexpr sql_text sql{
      "INSERT INTO audit_events (id, actor, event_type, request_id, project_id, payload) "
      "VALUES (:id, :actor, :event_type, :request_id, :project_id, :payload) "
      "RETURNING seq, {t:occurred_at}"};
  const std::string key = id.str();
  nullable_text request(e.request_id), project(e.project_id);
  audit_event out = *query_one(
      c, prepared(sql),
      [](row_reader& r) {
        audit_event stored;
        stored.seq = r.i64();
        stored.occurred_at = r.ts();
        return stored;
      },
      key, e.actor, e.event_type, nullable(request), nullable(project), e.payload_json);
  out.id = id;
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
  auto values = audit_event_values(events, ids);
  execute_multi_insert(c, audit_insert_head, audit_insert_row, events.size(), values);
}

void add_audit_events(write_chain& w, std::span<const audit_event_input> events,
                      std::span<const uuid> ids) {
  if (events.empty()) return;
  w.insert(audit_insert_head, audit_insert_row, events.size(), audit_event_values(events, ids));
}

audit_select build_audit_select(const audit_query& q, engine kind) {
  if (q.limit < 1 || q.limit > max_audit_page)
    throw error(errc::invalid_argument,
                fmt::format("limit must be between 1 and {}", max_audit_page));
  std::string type_lo;
  if (q.event_type_prefix && !q.event_type_prefix->empty()) {
    type_lo = *q.event_type_prefix;
    for (char ch : type_lo)
      if (!(ch == '.' || is_event_word_char(ch)))
        throw error(errc::invalid_argument,
                    fmt::format("event_type: '{}' is not an event-type prefix (lower-case letters, "
                                "digits, '_' and '.')",
                                type_lo));
  }
  std::optional<cursor_pos> after;
  if (!q.cursor.empty()) after = decode_cursor(q.cursor);

  const bool newest = q.order == audit_order::newest_first;
  audit_select s;
  auto& st = s.statement;
  st << "SELECT " << audit_event_row::columns << " FROM audit_events";
  const auto where = [&](std::string_view condition, std::string value) {
    st.condition() << condition;
    st.text(std::move(value));
  };
  if (q.project_id) where("project_id = ", q.project_id->str());
  if (q.request_id) where("request_id = ", q.request_id->str());
  if (q.actor) where("actor = ", *q.actor);
  if (!type_lo.empty()) {
    // Every string starting with the prefix sorts in [prefix, prefix with its
    // last byte incremented): an index range scan on both engines.
    std::string type_hi = type_lo;
    type_hi.back() = static_cast<char>(type_hi.back() + 1);
    where("event_type >= ", type_lo);
    st << " AND event_type < ";
    st.text(type_hi);
  }
  if (q.since) where("occurred_at >= ", q.since->str());
  if (q.until) where("occurred_at < ", q.until->str());
  if (after) {
    where(newest ? "(occurred_at, seq) < (" : "(occurred_at, seq) > (", after->at.str());
    st << ", ";
    st.integer(after->seq) << ")";
  }
  st << (newest ? " ORDER BY occurred_at DESC, seq DESC" : " ORDER BY occurred_at, seq");
  st << " LIMIT ";
  st.integer(static_cast<long long>(q.limit) + 1);
  s.sql = expand_sql(st.sql(), kind);
  return s;
}

void audit_select::bind(soci::details::prepare_temp_type& prep) const {
  statement.bind(prep);
}

audit_page select_audit_page(connection& c, const audit_select& select, std::size_t limit) {
  audit_page page;
  page.items = query_all(c, select.statement, audit_event_row::read);
  if (page.items.size() > limit) {
    page.items.pop_back();
    page.next_cursor = encode_cursor(page.items.back());
  }
  return page;
}

std::optional<audit_page> select_audit_page_by_types(connection& c, const audit_query& q) {
  constexpr std::size_t max_types = 64;
  if (c.kind() != engine::sqlite || q.project_id || q.request_id || q.actor ||
      !q.event_type_prefix || q.event_type_prefix->empty())
    return std::nullopt;
  const std::string lo = *q.event_type_prefix;
  std::string hi = lo;
  hi.back() = static_cast<char>(hi.back() + 1);
  static constexpr sql_text first{
      "SELECT min(event_type) FROM audit_events WHERE event_type >= :lo AND event_type < :hi"};
  static constexpr sql_text next{
      "SELECT min(event_type) FROM audit_events WHERE event_type > :lo AND event_type < :hi"};
  const auto read = [](row_reader& r) { return r.opt_text(); };
  std::vector<std::string> types;
  auto t = query_one(c, prepared(first), read, lo, hi).value_or(std::nullopt);
  while (t) {
    if (types.size() == max_types) return std::nullopt;
    types.push_back(std::move(*t));
    t = query_one(c, prepared(next), read, types.back(), hi).value_or(std::nullopt);
  }
  audit_page page;
  if (types.empty()) return page;

  std::optional<cursor_pos> after;
  if (!q.cursor.empty()) after = decode_cursor(q.cursor);
  const bool newest = q.order == audit_order::newest_first;
  const char* order =
      newest ? " ORDER BY occurred_at DESC, seq DESC" : " ORDER BY occurred_at, seq";
  const long long n = static_cast<long long>(q.limit) + 1;
  sql_builder st;
  for (std::size_t i = 0; i < types.size(); ++i) {
    st << (i ? " UNION ALL " : "") << "SELECT * FROM (SELECT " << audit_event_row::columns
       << " FROM audit_events WHERE event_type = ";
    st.text(types[i]);
    if (q.since) {
      st << " AND occurred_at >= ";
      st.text(q.since->str());
    }
    if (q.until) {
      st << " AND occurred_at < ";
      st.text(q.until->str());
    }
    if (after) {
      st << (newest ? " AND (occurred_at, seq) < (" : " AND (occurred_at, seq) > (");
      st.text(after->at.str());
      st << ", ";
      st.integer(after->seq) << ")";
    }
    st << order << " LIMIT ";
    st.integer(n) << ")";
  }
  st << order << " LIMIT ";
  st.integer(n);
  page.items = query_all(c, st, audit_event_row::read);
  if (page.items.size() > q.limit) {
    page.items.pop_back();
    page.next_cursor = encode_cursor(page.items.back());
  }
  return page;
}

long long count_audit_events(connection& c) {
  return query_count(c, one_time("SELECT count(*) FROM audit_events"));
}

}  // namespace trevor::detail
