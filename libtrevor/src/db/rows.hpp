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

#include "trevor/enums.hpp"
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

/// Reads a row column after column: each call takes the next column. The
/// query helpers (store/query.hpp) call finish() after the entity's reader,
/// so a reader that reads fewer or more columns than the statement selects
/// fails at once (error internal).
class row_reader {
 public:
  explicit row_reader(const soci::row& r) noexcept : r_(r) {}

  /// Whether the next column is NULL (does not take it).
  bool next_is_null() const;

  trevor::uuid uuid() { return get_uuid(r_, next()); }
  std::optional<trevor::uuid> opt_uuid() { return get_opt_uuid(r_, next()); }
  std::string text() { return get_str(r_, next()); }  // NULL reads as ""
  std::optional<std::string> opt_text() { return get_opt_str(r_, next()); }
  std::int64_t i64() { return get_i64(r_, next()); }  // NULL reads as 0
  std::optional<std::int64_t> opt_i64();
  bool boolean() { return get_bool(r_, next()); }
  timestamp ts() { return get_ts(r_, next()); }
  std::optional<timestamp> opt_ts() { return get_opt_ts(r_, next()); }
  template <class E>
  E enum_() {
    return parse_enum_or_throw<E>(text());
  }

  /// Throws error(internal) unless every column of the row was read.
  void finish() const;

 private:
  std::size_t next();
  const soci::row& r_;
  std::size_t i_ = 0;
};

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
