#pragma once
// UUIDs: the identifiers of every row.
//
// New identifiers are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, a
// 12-bit counter and 62 bits from a cryptographic random source, so they sort
// by creation time and keep B-tree inserts local. The text form is always lower
// case with hyphens.

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "trevor/export.hpp"

namespace trevor {

class TREVOR_EXPORT uuid {
 public:
  /// The nil UUID (all zero).
  constexpr uuid() = default;
  explicit constexpr uuid(const std::array<std::uint8_t, 16>& bytes) : bytes_(bytes) {}

  /// Parses the canonical 36-character form (either case).
  /// Returns nullopt for anything else.
  static std::optional<uuid> parse(std::string_view text) noexcept;

  /// Parses or throws trevor::error(invalid_argument) naming `what`.
  static uuid parse_or_throw(std::string_view text, std::string_view what);

  /// A new UUIDv7 from the current time and OpenSSL's CSPRNG. Thread-safe.
  /// Ids from one process strictly increase (a counter orders those made in
  /// the same millisecond); 62 bits stay random.
  static uuid v7();

  std::string str() const;
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  bool is_nil() const noexcept;
  int version() const noexcept { return bytes_[6] >> 4; }

  friend auto operator<=>(const uuid&, const uuid&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

/// Where new identifiers come from. Injected so tests can be deterministic.
/// Implementations must be thread-safe.
class TREVOR_EXPORT id_source {
 public:
  virtual ~id_source() = default;
  virtual uuid next() = 0;
};

/// The default source: uuid::v7().
class TREVOR_EXPORT uuid_v7_source final : public id_source {
 public:
  uuid next() override { return uuid::v7(); }
};

}  // namespace trevor

template <>
struct std::hash<trevor::uuid> {
  std::size_t operator()(const trevor::uuid& u) const noexcept {
    std::size_t h = 0;
    for (auto b : u.bytes()) h = h * 131 + b;
    return h;
  }
};
