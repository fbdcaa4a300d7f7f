#include "store/multi_insert.hpp"

#include <fmt/format.h>

#include "trevor/error.hpp"

namespace trevor::detail {

namespace {

/// `text` with each '$' replaced by the next :vN (counted by `n`): distinct
/// names, because SQLite merges equal ones.
void append_numbered(std::string& sql, std::string_view text, std::size_t& n) {
  for (char ch : text) {
    if (ch == '$')
      sql += fmt::format(":v{}", n++);
    else
      sql.push_back(ch);
  }
}

/// A statement prepared once per connection with text parameters.
struct prepared_text final : cached_statement {
  std::vector<nullable_text> params;
  soci::statement st;
  prepared_text(connection& c, const std::string& sql, std::size_t count)
      : params(count), st(c.sql) {
    static const std::string positional;
    st.alloc();
    for (auto& p : params) st.exchange(soci::use(p.value, p.ind, positional));
    st.prepare(sql);
    st.define_and_bind();
  }
};

/// Runs the statement cached on `c` under (key, variant) — prepared from
/// make_sql() the first time — with `values` (moved into its parameters),
/// and returns the number of rows it changed. A statement that fails is
/// dropped from the cache.
template <class MakeSql>
long long run_prepared(connection& c, const char* key, std::size_t variant, MakeSql&& make_sql,
                       std::vector<nullable_text>& values) {
  auto& p = c.cached_for<prepared_text>(
      key, [&] { return std::make_unique<prepared_text>(c, make_sql(), values.size()); }, variant);
  for (std::size_t i = 0; i < values.size(); ++i) {
    p.params[i].value.swap(values[i].value);
    p.params[i].ind = values[i].ind;
  }
  try {
    p.st.execute(true);
    return p.st.get_affected_rows();
  } catch (...) {
    c.forget_cached<prepared_text>(key, variant);
    throw;
  }
}

}  // namespace

std::string multi_row_insert(std::string_view head, std::string_view row, std::size_t rows,
                             engine e) {
  std::string sql(head);
  sql += " VALUES ";
  std::size_t n = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    if (i) sql += ", ";
    append_numbered(sql, row, n);
  }
  return expand_sql(sql, e);
}

void execute_multi_insert(connection& c, const char* head, const char* row, std::size_t rows,
                          std::vector<nullable_text>& values) {
  if (rows == 0) return;
  if (rows > max_prepared_insert_rows) {
    bound_statement st(c, multi_row_insert(head, row, rows, c.kind()));
    for (auto& v : values) st.bind(v);
    return;  // executes as st goes
  }
  // Keyed by the head and the row count (never 0), which no update's key uses.
  run_prepared(
      c, head, rows, [&] { return multi_row_insert(head, row, rows, c.kind()); }, values);
}

void write_chain::insert(const char* head, const char* row, std::size_t rows,
                         std::vector<nullable_text> values) {
  if (rows == 0) return;
  steps_.push_back({kind::insert, head, row, rows, std::move(values), -1, {}});
}

void write_chain::update(const char* sql, std::vector<nullable_text> values, long long expect,
                         std::string what) {
  steps_.push_back({kind::update, sql, nullptr, 1, std::move(values), expect, std::move(what)});
}

void write_chain::guard(const char* sql, std::vector<nullable_text> values, long long expect) {
  steps_.push_back({kind::guard, sql, nullptr, 1, std::move(values), expect, {}});
}

std::optional<timestamp> write_chain::run(connection& c) {
  if (steps_.empty()) return std::nullopt;
  if (c.kind() == engine::sqlite) {
    for (auto& s : steps_) {
      if (s.k == kind::insert) {
        execute_multi_insert(c, s.head, s.row, s.rows, s.values);
      } else if (s.k == kind::update) {
        const long long changed = run_prepared(
            c, s.head, 0,
            [&] {
              std::string sql;
              std::size_t n = 0;
              append_numbered(sql, s.head, n);
              return expand_sql(sql, c.kind());
            },
            s.values);
        if (changed != s.expect) throw error(errc::conflict, s.what);
      }
    }
    steps_.clear();
    return std::nullopt;
  }

  // PostgreSQL: WITH w0 AS (... RETURNING 1), ... SELECT counts, guards, now.
  std::string sql = "WITH ";
  std::string select = " SELECT ";
  std::size_t n = 0, ctes = 0;
  for (const auto& s : steps_) {
    if (s.k == kind::guard) continue;
    if (ctes) sql += ", ";
    sql += fmt::format("w{} AS (", ctes);
    if (s.k == kind::insert) {
      sql += s.head;
      sql += " VALUES ";
      for (std::size_t i = 0; i < s.rows; ++i) {
        if (i) sql += ", ";
        append_numbered(sql, s.row, n);
      }
    } else {
      append_numbered(sql, s.head, n);
    }
    sql += " RETURNING 1)";
    select += fmt::format("(SELECT count(*) FROM w{}), ", ctes);
    ++ctes;
  }
  for (const auto& s : steps_) {
    if (s.k != kind::guard) continue;
    select += "(";
    append_numbered(select, s.head, n);
    select += "), ";
  }
  select += "{t:now()}";
  sql = expand_sql(ctes ? sql + select : select, c.kind());

  static const std::string positional;
  soci::row row;
  soci::statement st(c.sql);
  st.alloc();
  for (auto& s : steps_)
    if (s.k != kind::guard)
      for (auto& v : s.values) st.exchange(soci::use(v.value, v.ind, positional));
  for (auto& s : steps_)
    if (s.k == kind::guard)
      for (auto& v : s.values) st.exchange(soci::use(v.value, v.ind, positional));
  st.exchange(soci::into(row));
  st.prepare(sql, soci::details::st_one_time_query);
  st.define_and_bind();
  st.execute(true);

  row_reader r(row);
  for (const auto& s : steps_) {
    if (s.k == kind::guard) continue;
    const long long changed = r.i64();
    if (s.k == kind::update && changed != s.expect) throw error(errc::conflict, s.what);
  }
  for (const auto& s : steps_) {
    if (s.k != kind::guard) continue;
    if (r.i64() != s.expect)
      throw error(errc::conflict, "the request changed while this operation waited for it; retry")
          .set_retryable(true);
  }
  const auto now = r.ts();
  r.finish();
  steps_.clear();
  return now;
}

}  // namespace trevor::detail
