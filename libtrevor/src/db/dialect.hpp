#pragma once
// The one place where SQLite and PostgreSQL SQL differ in spelling.
//
// SQL text in the library (migrations and repositories) is written once with
// placeholders; expand() rewrites them for an engine:
//
//   {uuid} {ts} {json} {bool}   column types
//   {true} {false}              boolean literals
//   {now}                       the database's current time (UTC, microsecond text on SQLite)
//   {without_rowid}             after CREATE TABLE (...): SQLite keeps the rows in the
//                               primary key's B-tree (no rowid, no second index)
//   {t:expr}                    read a timestamp expression as RFC 3339 text (…​.ffffffZ)
//   {list:expr}                 aggregate: the values of expr joined with ',' (NULL if none)
//   {lock:table}                row lock of a SELECT (FOR UPDATE OF table); nothing on
//                               SQLite, whose write transactions hold the database lock
//   {skip_locked:table}         the same lock skipping rows other transactions hold
//                               (FOR UPDATE OF table SKIP LOCKED); nothing on SQLite
//   {us:column}                 a timestamp column as integer microseconds since the
//                               Unix epoch (exact on both engines)
//   {hours_ago::param}          the database's current time minus :param hours
//
// Anything else in braces is left alone, so JSON literals such as '{}' pass
// through untouched.

#include <string>
#include <string_view>

#include "trevor/database_url.hpp"

namespace trevor::detail {

std::string expand_sql(std::string_view sql, engine e);

/// expand_sql() of a string literal, cached per thread by address: `sql`
/// must have static storage duration. The reference stays valid for the
/// calling thread's lifetime.
const std::string& expanded(const char* sql, engine e);

}  // namespace trevor::detail
