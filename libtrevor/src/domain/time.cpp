#include "trevor/time.hpp"

#include <fmt/format.h>

#include "trevor/error.hpp"

namespace trevor {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3u : 9u)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
  std::int64_t y;
  unsigned m, d;
};

constexpr civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

constexpr bool is_leap(std::int64_t y) noexcept {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

class reader {
 public:
  explicit reader(std::string_view s) : s_(s) {}
  bool digits(std::size_t n, unsigned& out) {
    if (pos_ + n > s_.size()) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = s_[pos_ + i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<unsigned>(c - '0');
    }
    pos_ += n;
    return true;
  }
  bool take(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool done() const { return pos_ == s_.size(); }
  void skip() { ++pos_; }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<timestamp> timestamp::parse(std::string_view text) noexcept {
  reader r(text);
  unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!r.digits(4, y) || !r.take('-') || !r.digits(2, mo) || !r.take('-') || !r.digits(2, d))
    return std::nullopt;
  if (!r.take('T') && !r.take('t') && !r.take(' ')) return std::nullopt;
  if (!r.digits(2, h) || !r.take(':') || !r.digits(2, mi) || !r.take(':') || !r.digits(2, s))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
    return std::nullopt;
  std::int64_t micros = 0;
  if (r.take('.')) {
    int n = 0;
    while (r.peek() >= '0' && r.peek() <= '9') {
      if (n < 6) micros = micros * 10 + (r.peek() - '0');
      ++n;
      r.skip();
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (int i = n; i < 6; ++i) micros *= 10;
  }
  std::int64_t offset_s = 0;
  if (r.take('Z') || r.take('z')) {
  } else if (r.peek() == '+' || r.peek() == '-') {
    const bool neg = r.peek() == '-';
    r.skip();
    unsigned oh = 0, om = 0;
    if (!r.digits(2, oh)) return std::nullopt;
    if (r.take(':')) {
      if (!r.digits(2, om)) return std::nullopt;
    } else if (!r.done() && !r.digits(2, om)) {
      return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset_s = (neg ? -1 : 1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
  } else {
    return std::nullopt;  // a time without a zone is ambiguous: refuse it
  }
  if (!r.done()) return std::nullopt;
  const std::int64_t days = days_from_civil(y, mo, d);
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_s;
  return timestamp(secs * 1'000'000 + micros);
}

timestamp timestamp::parse_or_throw(std::string_view text, std::string_view what) {
  if (auto t = parse(text)) return *t;
  throw error(errc::invalid_argument,
              fmt::format("{}: '{}' is not an RFC 3339 timestamp with a time zone "
                          "(e.g. 2026-11-23T10:15:30.123456Z)",
                          what, text));
}

timestamp timestamp::from_sys(std::chrono::system_clock::time_point tp) noexcept {
  return timestamp(
      std::chrono::duration_cast<std::chrono::microseconds>(tp.time_since_epoch()).count());
}

std::chrono::system_clock::time_point timestamp::to_sys() const noexcept {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(us_)));
}

std::string timestamp::str() const {
  std::int64_t secs = us_ / 1'000'000;
  std::int64_t frac = us_ % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const civil c = civil_from_days(days);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", c.y, c.m, c.d, rem / 3600,
                     rem / 60 % 60, rem % 60, frac);
}

}  // namespace trevor
