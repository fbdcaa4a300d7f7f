#pragma once
// Small helpers every repository uses (internal).
//
// SQL is written once with dialect placeholders (db/dialect.hpp) and bound
// parameters only. Binding rules that keep SOCI 4.0 safe:
//  * bound values must outlive the statement: pass named variables;
//  * booleans are bound as int; 64-bit integers as long long;
//  * optional values go through nullable_text (value + indicator).

#include <optional>
#include <string>
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
