#pragma once
// Reading SOCI dynamic rows the same way on both engines (internal).
//
// SQLite reports expression columns (count(*), coalesce(...)) as text and
// INTEGER columns as 32-bit; PostgreSQL reports bigint as long long and
// booleans as int. These helpers accept whichever arrived.

#include <cstdint>
#include <optional>
#include <string>

#include <soci/soci.h>

#include "trevor/time.hpp"
#include "trevor/uuid.hpp"

namespace trevor::detail {

bool is_null(const soci::row& r, std::size_t i);
std::int64_t get_i64(const soci::row& r, std::size_t i);
std::string get_str(const soci::row& r, std::size_t i);  // NULL reads as ""
std::optional<std::string> get_opt_str(const soci::row& r, std::size_t i);
bool get_bool(const soci::row& r, std::size_t i);
uuid get_uuid(const soci::row& r, std::size_t i);
std::optional<uuid> get_opt_uuid(const soci::row& r, std::size_t i);
timestamp get_ts(const soci::row& r, std::size_t i);
std::optional<timestamp> get_opt_ts(const soci::row& r, std::size_t i);

/// A bound parameter that may be NULL. Keep it alive until the statement ran
/// (SOCI binds by address).
struct nullable_text {
  std::string value;
  soci::indicator ind = soci::i_null;

  nullable_text() = default;
  explicit nullable_text(const std::optional<std::string>& v)
      : value(v.value_or("")), ind(v ? soci::i_ok : soci::i_null) {}
  explicit nullable_text(const std::optional<uuid>& v)
      : value(v ? v->str() : ""), ind(v ? soci::i_ok : soci::i_null) {}
  explicit nullable_text(const std::optional<timestamp>& v)
      : value(v ? v->str() : ""), ind(v ? soci::i_ok : soci::i_null) {}
};

}  // namespace trevor::detail
