#include "db/errors.hpp"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <fmt/format.h>

namespace trevor::detail {
namespace {

// The first line of a driver message, without SOCI's and libpq's prefixes.
std::string clean(std::string_view m) {
  if (auto nl = m.find('\n'); nl != std::string_view::npos) m = m.substr(0, nl);
  for (std::string_view prefix :
       {"Cannot execute query. ", "Cannot prepare statement. ",
        "sqlite3_statement_backend::loadOne: ", "sqlite3_statement_backend::loadRS: ",
        "sqlite3_statement_backend::bindAndExecute: ", "ERROR:  "}) {
    if (auto p = m.find(prefix); p != std::string_view::npos) m = m.substr(p + prefix.size());
  }
  while (!m.empty() && (m.back() == ' ' || m.back() == '\r' || m.back() == '.')) m.remove_suffix(1);
  return std::string(m);
}

error make(errc code, std::string_view context, const std::string& message, bool retry = false) {
  error e(code, context.empty() ? message : fmt::format("{}: {}", context, message));
  e.set_retryable(retry);
  return e;
}

}  // namespace

error from_sqlstate(const std::string& state, std::string_view context, const std::string& msg) {
  if (state == "40001" || state == "40P01") return make(errc::conflict, context, msg, true);
  if (state == "23505" || state == "P0001") return make(errc::conflict, context, msg);
  if (state == "23503") return make(errc::not_found, context, msg);
  if (state == "42501") return make(errc::forbidden, context, msg);
  if (state.starts_with("23") || state.starts_with("22"))
    return make(errc::invalid_argument, context, msg);
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03")
    return make(errc::unavailable, context, msg);
  return make(errc::internal, context, fmt::format("{} (SQLSTATE {})", msg, state));
}

error from_sqlite(int rc, std::string_view context, const std::string& msg) {
  switch (rc & 0xff) {
    case 19:  // SQLITE_CONSTRAINT: uniqueness, checks, foreign keys and our triggers' RAISE
      if (msg.find("FOREIGN KEY") != std::string::npos) return make(errc::not_found, context, msg);
      if (msg.find("CHECK constraint") != std::string::npos ||
          msg.find("NOT NULL constraint") != std::string::npos)
        return make(errc::invalid_argument, context, msg);
      return make(errc::conflict, context, msg);
    case 5:  // SQLITE_BUSY
    case 6:  // SQLITE_LOCKED
      return make(errc::unavailable, context, msg, true);
    case 20:  // SQLITE_MISMATCH
      return make(errc::invalid_argument, context, msg);
    default: return make(errc::internal, context, fmt::format("{} (SQLite code {})", msg, rc));
  }
}

error translate_current_exception(std::string_view context) {
  try {
    throw;
  } catch (const error& e) {
    return e;
  } catch (const soci::postgresql_soci_error& e) {
    return from_sqlstate(e.sqlstate(), context, clean(e.what()));
  } catch (const soci::sqlite3_soci_error& e) {
    return from_sqlite(e.result(), context, clean(e.what()));
  } catch (const soci::soci_error& e) {
    const std::string msg = clean(e.what());
    // SOCI reports a lost PostgreSQL connection without a SQLSTATE.
    if (msg.find("connection") != std::string::npos ||
        msg.find("server closed") != std::string::npos)
      return make(errc::unavailable, context, msg);
    return make(errc::internal, context, msg);
  } catch (const std::bad_alloc&) {
    return make(errc::internal, context, "out of memory");
  } catch (const std::exception& e) {
    return make(errc::internal, context, e.what());
  } catch (...) {
    return make(errc::internal, context, "unknown exception");
  }
}

}  // namespace trevor::detail
