#include "trevor/uuid.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <mutex>

#include <fmt/format.h>

#include "trevor/error.hpp"

namespace trevor {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr bool is_hyphen_position(std::size_t i) noexcept {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

}  // namespace

std::optional<uuid> uuid::parse(std::string_view text) noexcept {
  if (text.size() != 36) return std::nullopt;
  std::array<std::uint8_t, 16> bytes{};
  std::size_t out = 0;
  for (std::size_t i = 0; i < 36;) {
    if (is_hyphen_position(i)) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0 || is_hyphen_position(i + 1)) return std::nullopt;
    bytes[out++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return uuid(bytes);
}

uuid uuid::parse_or_throw(std::string_view text, std::string_view what) {
  if (auto u = parse(text)) return *u;
  throw error(errc::invalid_argument,
              fmt::format("{}: '{}' is not a UUID (expected 8-4-4-4-12 hex digits)", what, text));
}

uuid uuid::v7() {
  // RFC 9562 method 1: a 12-bit counter in rand_a, seeded randomly each new
  // millisecond, keeps ids from one process strictly increasing even within
  // a millisecond (they then break timestamp ties in creation order).
  // rand_b (62 bits) stays fully random.
  static std::mutex mutex;
  static std::uint64_t last_ms = 0;
  static std::uint16_t counter = 0;
  std::array<std::uint8_t, 16> b{};
  if (RAND_bytes(b.data() + 6, 10) != 1)
    throw error(errc::internal, "uuid: the random source failed");
  auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  std::uint16_t seq = 0;
  {
    std::lock_guard lock(mutex);
    if (ms > last_ms) {
      last_ms = ms;
      counter =
          static_cast<std::uint16_t>(((b[6] << 8) | b[7]) & 0x07ff);  // leave room to count up
    } else {
      ms = last_ms;  // the clock went back or stood still: keep counting
      if (++counter > 0x0fff) {
        ++last_ms;
        ms = last_ms;
        counter = 0;
      }
    }
    seq = counter;
  }
  for (std::size_t i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | (seq >> 8));  // version 7 + counter high bits
  b[7] = static_cast<std::uint8_t>(seq & 0xff);
  b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3f));  // RFC 9562 variant
  return uuid(b);
}

std::string uuid::str() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(digits[bytes_[i] >> 4]);
    s.push_back(digits[bytes_[i] & 0x0f]);
  }
  return s;
}

bool uuid::is_nil() const noexcept {
  for (auto b : bytes_)
    if (b) return false;
  return true;
}

}  // namespace trevor
