#pragma once
// UTC timestamps with microsecond resolution.
//
// Timestamps are set by the database (schema/README.md, "What the database
// itself enforces"); the library only reads,
// compares and formats them. The text form is RFC 3339 in UTC with exactly six
// fractional digits and a `Z`: 2026-11-23T10:15:30.123456Z. That form sorts
// lexically in time order, which the SQLite schema relies on.

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "trevor/export.hpp"

namespace trevor {

class TREVOR_EXPORT timestamp {
 public:
  constexpr timestamp() = default;
  explicit constexpr timestamp(std::int64_t micros_since_epoch) : us_(micros_since_epoch) {}

  /// Accepts `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)`, a space instead of
  /// `T`, and a PostgreSQL-style `+00` offset. Fractions beyond microseconds are
  /// truncated. Returns nullopt for anything else.
  static std::optional<timestamp> parse(std::string_view text) noexcept;

  /// Parses or throws trevor::error(invalid_argument) naming `what`.
  static timestamp parse_or_throw(std::string_view text, std::string_view what);

  static timestamp from_sys(std::chrono::system_clock::time_point tp) noexcept;

  /// RFC 3339, UTC, six fractional digits, `Z`.
  std::string str() const;

  constexpr std::int64_t micros() const noexcept { return us_; }
  std::chrono::system_clock::time_point to_sys() const noexcept;

  friend constexpr auto operator<=>(const timestamp&, const timestamp&) = default;

 private:
  std::int64_t us_ = 0;
};

}  // namespace trevor
