#pragma once
// Translation of engine errors into trevor::error — the only place that
// knows SQLSTATEs and SQLite result codes.

#include <string>
#include <string_view>

#include "trevor/database_url.hpp"
#include "trevor/error.hpp"

namespace trevor::detail {

/// Call inside a catch block: returns the current exception as a
/// trevor::error (unchanged if it already is one). `context` prefixes the
/// message of translated engine errors ("audit append").
error translate_current_exception(std::string_view context);

/// The translation of one PostgreSQL SQLSTATE / SQLite result code.
error from_sqlstate(const std::string& sqlstate, std::string_view context,
                    const std::string& message);
error from_sqlite(int result_code, std::string_view context, const std::string& message);

/// Rethrows the current exception translated.
[[noreturn]] inline void rethrow_translated(std::string_view context) {
  throw translate_current_exception(context);
}

}  // namespace trevor::detail
