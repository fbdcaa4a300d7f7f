// Schema parity: after migrating, each engine's catalogue is introspected
// and compared with one expected description (schema.expected), so the two
// engines cannot drift apart.
//
// The description lists, per table: columns (name, logical kind, nullability,
// whether the database supplies a default), unique keys by column list
// (primary keys included: which unique key is primary may differ), named
// indexes (columns, unique, partial), foreign keys and triggers. On SQLite a
// logical kind is checked against its storage class (uuid, timestamp and json
// are TEXT there). Lines ending in "[postgresql]" exist on PostgreSQL only
// (TRUNCATE triggers: SQLite has no TRUNCATE).
//
// To accept an intended schema change, run the suite on PostgreSQL with
// TREVOR_UPDATE_SCHEMA_EXPECTED=1 and review the diff of schema.expected.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "db/rows.hpp"
#include "support.hpp"

using namespace trevor;
using trevor::test::fresh_database;

namespace {

struct table_desc {
  std::vector<std::string> lines;
};
using schema_desc = std::map<std::string, table_desc>;

std::vector<std::string> rows_of(detail::connection& c, const std::string& sql,
                                 std::size_t columns) {
  std::vector<std::string> out;
  soci::rowset<soci::row> rs = c.sql.prepare << sql;
  for (const auto& r : rs) {
    std::string line;
    for (std::size_t i = 0; i < columns; ++i) {
      if (i) line += '\t';
      line += detail::is_null(r, i) ? "" : detail::get_str(r, i);
    }
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

std::string pg_kind(const std::string& data_type) {
  static const std::map<std::string, std::string> kinds{
      {"uuid", "uuid"},  {"timestamp with time zone", "timestamp"},
      {"jsonb", "json"}, {"boolean", "bool"},
      {"bigint", "int"}, {"text", "text"}};
  auto it = kinds.find(data_type);
  return it == kinds.end() ? "UNEXPECTED(" + data_type + ")" : it->second;
}

schema_desc describe_postgresql(detail::connection& c) {
  schema_desc d;
  for (const auto& row :
       rows_of(c,
               "SELECT table_name, column_name, data_type, is_nullable, "
               "CASE WHEN column_default IS NULL THEN '' ELSE 'default' END "
               "FROM information_schema.columns WHERE table_schema = current_schema()",
               5)) {
    const auto f = split(row, '\t');
    d[f[0]].lines.push_back(fmt::format("column {} {} {}{}", f[1], pg_kind(f[2]),
                                        f[3] == "YES" ? "null" : "not null",
                                        f[4].empty() ? "" : " default"));
  }
  const std::string index_sql =
      "SELECT t.relname, i.relname, CASE WHEN ix.indisunique THEN 1 ELSE 0 END, "
      "CASE WHEN ix.indpred IS NULL THEN 0 ELSE 1 END, "
      "CASE WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid) THEN 1 ELSE 0 "
      "END, "
      "array_to_string(ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, "
      "ord) "
      "  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord), ',') "
      "FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = "
      "ix.indrelid "
      "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema()";
  for (const auto& row : rows_of(c, index_sql, 6)) {
    const auto f = split(row, '\t');
    const std::string cols = fmt::format("({})", fmt::join(split(f[5], ','), ", "));
    if (f[4] == "1")  // backs a PRIMARY KEY or UNIQUE constraint
      d[f[0]].lines.push_back("unique " + cols);
    else
      d[f[0]].lines.push_back(fmt::format("{}index {} {}{}", f[2] == "1" ? "unique " : "", f[1],
                                          cols, f[3] == "1" ? " partial" : ""));
  }
  const std::string fk_sql =
      "SELECT t.relname, a.attname, rt.relname, ra.attname FROM pg_constraint k "
      "JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
      "JOIN pg_class rt ON rt.oid = k.confrelid "
      "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
      "JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1] "
      "WHERE k.contype = 'f' AND n.nspname = current_schema()";
  for (const auto& row : rows_of(c, fk_sql, 4)) {
    const auto f = split(row, '\t');
    d[f[0]].lines.push_back(fmt::format("foreign key ({}) -> {} ({})", f[1], f[2], f[3]));
  }
  const std::string trigger_sql =
      "SELECT c.relname, tg.tgname, CASE WHEN (tg.tgtype & 32) <> 0 THEN 1 ELSE 0 END FROM "
      "pg_trigger tg "
      "JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE NOT tg.tgisinternal AND n.nspname = current_schema()";
  for (const auto& row : rows_of(c, trigger_sql, 3)) {
    const auto f = split(row, '\t');
    d[f[0]].lines.push_back("trigger " + f[1] + (f[2] == "1" ? " [postgresql]" : ""));
  }
  return d;
}

std::string sqlite_kind(std::string declared) {
  std::transform(declared.begin(), declared.end(), declared.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  if (declared == "TEXT") return "TEXT";
  if (declared == "BIGINT" || declared == "INTEGER") return "INTEGER";
  if (declared == "BOOLEAN") return "BOOLEAN";
  return "UNEXPECTED(" + declared + ")";
}

schema_desc describe_sqlite(detail::connection& c) {
  schema_desc d;
  const auto tables = rows_of(c,
                              "SELECT name FROM sqlite_master WHERE type = 'table' "
                              "AND name NOT LIKE 'sqlite_%'",
                              1);
  for (const auto& t : tables) {
    auto& lines = d[t].lines;
    for (const auto& row :
         rows_of(c,
                 fmt::format("SELECT name, type, \"notnull\", dflt_value, pk FROM "
                             "pragma_table_info('{}')",
                             t),
                 5)) {
      const auto f = split(row, '\t');
      const bool rowid_alias = f[4] == "1" && sqlite_kind(f[1]) == "INTEGER" && f[1] == "INTEGER";
      const bool not_null = f[2] == "1" || rowid_alias;
      lines.push_back(fmt::format("column {} {} {}{}", f[0], sqlite_kind(f[1]),
                                  not_null ? "not null" : "null", f[3].empty() ? "" : " default"));
      if (rowid_alias) lines.push_back(fmt::format("unique ({})", f[0]));
    }
    for (const auto& row : rows_of(c,
                                   fmt::format("SELECT name, \"unique\", origin, partial FROM "
                                               "pragma_index_list('{}')",
                                               t),
                                   4)) {
      const auto f = split(row, '\t');
      std::vector<std::string> cols;
      for (const auto& col : rows_of(
               c, fmt::format("SELECT name FROM pragma_index_info('{}') ORDER BY seqno", f[0]), 1))
        cols.push_back(col);
      const std::string list = fmt::format("({})", fmt::join(cols, ", "));
      if (f[2] != "c")
        lines.push_back("unique " + list);
      else
        lines.push_back(fmt::format("{}index {} {}{}", f[1] == "1" ? "unique " : "", f[0], list,
                                    f[3] == "1" ? " partial" : ""));
    }
    for (const auto& row :
         rows_of(c,
                 fmt::format(
                     "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list('{}')", t),
                 3)) {
      const auto f = split(row, '\t');
      lines.push_back(fmt::format("foreign key ({}) -> {} ({})", f[0], f[1], f[2]));
    }
  }
  for (const auto& row :
       rows_of(c, "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'", 2)) {
    const auto f = split(row, '\t');
    d[f[0]].lines.push_back("trigger " + f[1]);
  }
  return d;
}

std::string render(const schema_desc& d) {
  std::string out;
  for (auto [name, table] : d) {
    std::sort(table.lines.begin(), table.lines.end());
    out += "table " + name + "\n";
    for (const auto& l : table.lines) out += "  " + l + "\n";
  }
  return out;
}

/// The expected description as SQLite should show it.
std::string for_sqlite(const std::string& expected) {
  std::string out;
  std::stringstream in(expected);
  std::string line;
  schema_desc d;
  std::string current;
  while (std::getline(in, line)) {
    if (line.starts_with("table ")) {
      current = line.substr(6);
      d[current];
      continue;
    }
    if (line.ends_with(" [postgresql]")) continue;
    std::string l = line.substr(2);
    if (l.starts_with("column ")) {
      auto f = split(l, ' ');  // column NAME KIND ...
      const std::string& kind = f[2];
      f[2] = kind == "int" ? "INTEGER" : kind == "bool" ? "BOOLEAN" : "TEXT";
      l = fmt::format("{}", fmt::join(f, " "));
    }
    d[current].lines.push_back(l);
  }
  return render(d);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("both engines' migrated schemas match the one expected description") {
  fresh_database f;
  auto l = f.db().impl().acquire();
  const std::string expected = read_file(TREVOR_SCHEMA_EXPECTED);
  if (f.db().kind() == engine::postgresql) {
    const std::string actual = render(describe_postgresql(*l));
    if (trevor::test::rewrite_requested("TREVOR_UPDATE_SCHEMA_EXPECTED")) {
      std::ofstream(TREVOR_SCHEMA_EXPECTED) << actual;
      MESSAGE("rewrote " TREVOR_SCHEMA_EXPECTED);
    } else {
      REQUIRE_MESSAGE(!expected.empty(), "missing " TREVOR_SCHEMA_EXPECTED);
      CHECK(actual == expected);
    }
  } else {
    REQUIRE_MESSAGE(!expected.empty(), "missing " TREVOR_SCHEMA_EXPECTED);
    CHECK(render(describe_sqlite(*l)) == for_sqlite(expected));
  }
}
