#include "db/dialect.hpp"

#include <unordered_map>

namespace trevor::detail {
namespace {

// SQLite keeps timestamps as fixed-width RFC 3339 text so that text order is
// time order; its clock has millisecond resolution, padded to six digits.
constexpr std::string_view sqlite_now = "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')";

std::string_view replacement(std::string_view name, engine e) {
  const bool pg = e == engine::postgresql;
  if (name == "uuid") return pg ? "UUID" : "TEXT";
  if (name == "ts") return pg ? "TIMESTAMPTZ" : "TEXT";
  if (name == "json") return pg ? "JSONB" : "TEXT";
  if (name == "bool") return "BOOLEAN";
  if (name == "true") return pg ? "TRUE" : "1";
  if (name == "false") return pg ? "FALSE" : "0";
  if (name == "now") return pg ? "now()" : sqlite_now;
  if (name == "without_rowid") return pg ? " " : " WITHOUT ROWID";
  return {};
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || c == '_';
}

}  // namespace

std::string expand_sql(std::string_view sql, engine e) {
  std::string out;
  out.reserve(sql.size() + 64);
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c != '{') {
      out.push_back(c);
      ++i;
      continue;
    }
    const auto close = sql.find('}', i);
    if (close == std::string_view::npos) {
      out.append(sql.substr(i));
      break;
    }
    const std::string_view inner = sql.substr(i + 1, close - i - 1);
    if (inner.starts_with("list:")) {
      const std::string_view expr = inner.substr(5);
      if (e == engine::postgresql) {
        out += "string_agg(CAST(";
        out += expr;
        out += " AS TEXT), ',')";
      } else {
        out += "group_concat(";
        out += expr;
        out += ")";
      }
      i = close + 1;
      continue;
    }
    if (inner.starts_with("skip_locked:")) {
      if (e == engine::postgresql) {
        out += "FOR UPDATE OF ";
        out += inner.substr(12);
        out += " SKIP LOCKED";
      }
      i = close + 1;
      continue;
    }
    if (inner.starts_with("lock:")) {
      if (e == engine::postgresql) {
        out += "FOR UPDATE OF ";
        out += inner.substr(5);
      }
      i = close + 1;
      continue;
    }
    if (inner.starts_with("hours_ago:")) {
      const std::string_view param = inner.substr(10);
      if (e == engine::postgresql) {
        out += "(now() - make_interval(hours => CAST(";
        out += param;
        out += " AS INTEGER)))";
      } else {
        out += "(strftime('%Y-%m-%dT%H:%M:%f', 'now', '-' || ";
        out += param;
        out += " || ' hours') || '000Z')";
      }
      i = close + 1;
      continue;
    }
    if (inner.starts_with("us:")) {
      const std::string_view expr = inner.substr(3);
      if (e == engine::postgresql) {
        out += "CAST(extract(epoch FROM ";
        out += expr;
        out += ") * 1000000 AS BIGINT)";
      } else {
        // Whole seconds from strftime, then the six fractional digits of the
        // fixed-width text form (YYYY-MM-DDTHH:MM:SS.ffffffZ).
        out += "(CAST(strftime('%s', ";
        out += expr;
        out += ") AS INTEGER) * 1000000 + CAST(substr(";
        out += expr;
        out += ", 21, 6) AS INTEGER))";
      }
      i = close + 1;
      continue;
    }
    if (inner.starts_with("t:")) {
      const std::string_view expr = inner.substr(2);
      if (e == engine::postgresql) {
        out += "to_char((";
        out += expr;
        out += ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
      } else {
        out += expr;
      }
      i = close + 1;
      continue;
    }
    bool plain = !inner.empty();
    for (char ch : inner) plain = plain && is_name_char(ch);
    const std::string_view rep = plain ? replacement(inner, e) : std::string_view{};
    if (rep.empty()) {
      out.push_back(c);  // not a placeholder ('{}' in a JSON literal)
      ++i;
      continue;
    }
    out += rep;
    i = close + 1;
  }
  return out;
}

const std::string& expanded(const char* sql, engine e) {
  // Per thread, so the hot path takes no lock; each thread expands a
  // statement once. Entries live as long as the thread (the set of
  // statement literals is fixed and small).
  thread_local std::unordered_map<const char*, std::string> cache[2];
  auto& slot = cache[e == engine::sqlite ? 0 : 1];
  auto it = slot.find(sql);
  if (it == slot.end()) it = slot.emplace(sql, expand_sql(sql, e)).first;
  return it->second;
}

}  // namespace trevor::detail
