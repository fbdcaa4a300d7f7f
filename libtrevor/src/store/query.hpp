#pragma once
// Small helpers every repository uses (internal).
//
// SQL is written once with dialect placeholders (db/dialect.hpp) and bound
// parameters only. Binding rules that keep SOCI 4.0 safe:
//  * bound values must outlive the statement: pass named variables;
//  * booleans are bound as int; 64-bit integers as long long;
//  * optional values go through nullable_text (value + indicator).

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "db/connection.hpp"
#include "db/dialect.hpp"
#include "db/rows.hpp"

namespace trevor::detail {

/// A parameter that binds with soci::use(value, indicator).
template <class T>
struct bind_nullable {
  T& value;
  soci::indicator& ind;
};
inline bind_nullable<std::string> nullable(nullable_text& n) {
  return {n.value, n.ind};
}

// soci::use() keeps a reference to its `name` argument, whose default is a
// temporary: returned from a helper it would dangle. Pass a name that lives
// forever instead.
inline const std::string& positional() {
  static const std::string none;
  return none;
}
template <class T>
auto use_one(T& v) {
  return soci::use(v, positional());
}
template <class T>
auto use_one(bind_nullable<T> n) {
  return soci::use(n.value, n.ind, positional());
}

/// Runs a statement that returns at most one row and reads it with `read`;
/// nullopt when there is none. `sql` must have static storage duration
/// (see expanded()).
template <class Read, class... Args>
auto query_one(connection& c, Read&& read, const char* sql, Args&&... args)
    -> std::optional<decltype(read(std::declval<const soci::row&>()))> {
  soci::row r;
  ((c.sql << expanded(sql, c.kind())), ..., use_one(args)), soci::into(r);
  if (!c.sql.got_data()) return std::nullopt;
  return read(r);
}

/// Runs a statement that returns any number of rows; read each with fn.
template <class T, class Fn, class... Args>
std::vector<T> query_all(connection& c, const char* sql, Fn&& read, Args&&... args) {
  soci::rowset<soci::row> rows = ((c.sql.prepare << expanded(sql, c.kind())), ..., use_one(args));
  std::vector<T> out;
  for (const auto& r : rows) out.push_back(read(r));
  return out;
}

// ------------------------------------------------------------ prepared once
//
// The hot statements of the workflow are prepared once per connection and
// re-executed: PostgreSQL then skips parsing and planning (about half a
// millisecond for a statement with several subqueries), SQLite skips
// sqlite3_prepare. Parameters are copied into storage the statement owns.
//
// Only for statements that do not fail in normal operation (reads and
// conditional updates): SOCI 4.0's PostgreSQL backend leaks the parameter
// buffers of a prepared statement's failed execution, even when the
// statement is then destroyed. INSERTs that may hit a unique or foreign key
// stay one-time statements.

template <class T>
struct param_storage {
  using type = std::decay_t<T>;
};
template <>
struct param_storage<bind_nullable<std::string>> {
  using type = nullable_text;
};
template <class T>
using param_storage_t = typename param_storage<T>::type;

template <class... Ps>
struct prepared_rows final : cached_statement {
  std::tuple<Ps...> params;
  soci::row row;
  soci::statement st;

  prepared_rows(connection& c, const char* sql) : st(c.sql) {
    st.alloc();
    std::apply([this](auto&... p) { (bind(p), ...); }, params);
    st.exchange(soci::into(row));
    st.prepare(expanded(sql, c.kind()));
    st.define_and_bind();
  }
  template <class T>
  void bind(T& p) {
    st.exchange(soci::use(p, positional()));
  }
  void bind(nullable_text& p) { st.exchange(soci::use(p.value, p.ind, positional())); }
};

template <class T, class V>
void assign_param(T& slot, V&& v) {
  slot = v;
}
inline void assign_param(nullable_text& slot, bind_nullable<std::string> v) {
  slot.value = v.value;
  slot.ind = v.ind;
}

/// Runs `sql` (a string literal) as a statement prepared once per connection
/// and calls on_row for each result row.
template <class OnRow, class... Args>
void run_prepared(connection& c, const char* sql, OnRow&& on_row, Args&&... args) {
  using P = prepared_rows<param_storage_t<Args>...>;
  auto& p = c.cached_for<P>(sql, [&] { return std::make_unique<P>(c, sql); });
  std::apply([&](auto&... slot) { (assign_param(slot, std::forward<Args>(args)), ...); }, p.params);
  if (p.st.execute(true)) {
    do on_row(static_cast<const soci::row&>(p.row));
    while (p.st.fetch());
  }
}

/// query_one() through a statement prepared once per connection.
template <class Read, class... Args>
auto query_one_prepared(connection& c, Read&& read, const char* sql, Args&&... args)
    -> std::optional<decltype(read(std::declval<const soci::row&>()))> {
  std::optional<decltype(read(std::declval<const soci::row&>()))> out;
  run_prepared(
      c, sql,
      [&](const soci::row& r) {
        if (!out) out = read(r);
      },
      std::forward<Args>(args)...);
  return out;
}

/// query_all() through a statement prepared once per connection.
template <class T, class Fn, class... Args>
std::vector<T> query_all_prepared(connection& c, const char* sql, Fn&& read, Args&&... args) {
  std::vector<T> out;
  run_prepared(
      c, sql, [&](const soci::row& r) { out.push_back(read(r)); }, std::forward<Args>(args)...);
  return out;
}

/// Runs a statement that returns no rows.
template <class... Args>
void execute(connection& c, const char* sql, Args&&... args) {
  ((c.sql << expanded(sql, c.kind())), ..., use_one(args));
}

/// Runs a counting statement (SELECT count(*) ...).
template <class... Args>
long long query_count(connection& c, const char* sql, Args&&... args) {
  long long n = 0;
  ((c.sql << expanded(sql, c.kind())), ..., use_one(args)), soci::into(n);
  return n;
}

}  // namespace trevor::detail
