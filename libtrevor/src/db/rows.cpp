#include "db/rows.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "trevor/error.hpp"

namespace trevor::detail {

bool is_null(const soci::row& r, std::size_t i) {
  return r.get_indicator(i) == soci::i_null;
}

std::int64_t get_i64(const soci::row& r, std::size_t i) {
  if (is_null(r, i)) return 0;
  switch (r.get_properties(i).get_data_type()) {
    case soci::dt_long_long: return r.get<long long>(i);
    case soci::dt_unsigned_long_long:
      return static_cast<std::int64_t>(r.get<unsigned long long>(i));
    case soci::dt_integer: return r.get<int>(i);
    case soci::dt_double: return static_cast<std::int64_t>(r.get<double>(i));
    case soci::dt_string: {
      const std::string s = r.get<std::string>(i);
      char* end = nullptr;
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (end == s.c_str() || *end != '\0')
        throw error(errc::internal, fmt::format("column {}: '{}' is not an integer", i, s));
      return v;
    }
    default: throw error(errc::internal, fmt::format("column {}: not an integer column", i));
  }
}

std::string get_str(const soci::row& r, std::size_t i) {
  if (is_null(r, i)) return {};
  switch (r.get_properties(i).get_data_type()) {
    case soci::dt_string: return r.get<std::string>(i);
    case soci::dt_long_long: return std::to_string(r.get<long long>(i));
    case soci::dt_integer: return std::to_string(r.get<int>(i));
    default: throw error(errc::internal, fmt::format("column {}: not a text column", i));
  }
}

std::optional<std::string> get_opt_str(const soci::row& r, std::size_t i) {
  if (is_null(r, i)) return std::nullopt;
  return get_str(r, i);
}

bool get_bool(const soci::row& r, std::size_t i) {
  if (r.get_properties(i).get_data_type() == soci::dt_string) {
    const std::string s = r.get<std::string>(i);
    return s == "1" || s == "t" || s == "true";
  }
  return get_i64(r, i) != 0;
}

uuid get_uuid(const soci::row& r, std::size_t i) {
  const std::string s = get_str(r, i);
  if (auto u = uuid::parse(s)) return *u;
  throw error(errc::internal, fmt::format("column {}: '{}' is not a UUID", i, s));
}

std::optional<uuid> get_opt_uuid(const soci::row& r, std::size_t i) {
  if (is_null(r, i)) return std::nullopt;
  return get_uuid(r, i);
}

timestamp get_ts(const soci::row& r, std::size_t i) {
  const std::string s = get_str(r, i);
  if (auto t = timestamp::parse(s)) return *t;
  throw error(errc::internal, fmt::format("column {}: '{}' is not a timestamp", i, s));
}

std::optional<timestamp> get_opt_ts(const soci::row& r, std::size_t i) {
  if (is_null(r, i)) return std::nullopt;
  return get_ts(r, i);
}

bool row_reader::next_is_null() const {
  return i_ < r_.size() && is_null(r_, i_);
}

std::optional<std::int64_t> row_reader::opt_i64() {
  const std::size_t i = next();
  if (is_null(r_, i)) return std::nullopt;
  return get_i64(r_, i);
}

std::size_t row_reader::next() {
  if (i_ >= r_.size())
    throw error(errc::internal,
                fmt::format("row of {} columns: the reader asks for column {}", r_.size(), i_ + 1));
  return i_++;
}

void row_reader::finish() const {
  if (i_ != r_.size())
    throw error(errc::internal,
                fmt::format("row of {} columns: the reader read {}", r_.size(), i_));
}

}  // namespace trevor::detail
