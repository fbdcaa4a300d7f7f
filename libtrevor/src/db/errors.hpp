#pragma once
// Translation of engine errors into trevor::error — the only place that
// knows SQLSTATEs and SQLite result codes.

#include <string_view>

#include "trevor/database_url.hpp"
#include "trevor/error.hpp"

namespace trevor::detail {

/// Call inside a catch block: returns the current exception as a
/// trevor::error (unchanged if it already is one). `context` prefixes the
/// message of translated engine errors ("audit append").
error translate_current_exception(std::string_view context);

/// Rethrows the current exception translated.
[[noreturn]] inline void rethrow_translated(std::string_view context) {
  throw translate_current_exception(context);
}

}  // namespace trevor::detail
