#include "sdc/csv_stream.hpp"

#include <csv.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "trevor/error.hpp"
#include "trevor/sdc.hpp"

namespace trevor::detail {
namespace {

void field_cb(void* data, std::size_t len, void* self) {
  static_cast<csv_stream*>(self)->on_field(static_cast<const char*>(data), len);
}

void record_cb(int, void* self) {
  static_cast<csv_stream*>(self)->on_record();
}

// libcsv grows its field buffer with this: a field longer than the bound is
// refused (CSV_ENOMEM), so one enormous field cannot take the memory.
void* bounded_realloc(void* p, std::size_t n) {
  if (n > sdc::sdc_limits::max_field_bytes + 1024) return nullptr;
  return std::realloc(p, n);
}

int is_blank(unsigned char c) {
  return c == ' ' ? 1 : 0;
}

}  // namespace

csv_stream::csv_stream(char delimiter, std::size_t max_fields, record_handler on_record)
    : parser_(new csv_parser), max_fields_(max_fields), on_record_(std::move(on_record)) {
  if (csv_init(parser_, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    delete parser_;
    throw error(errc::internal, "csv: libcsv initialisation failed");
  }
  csv_set_delim(parser_, static_cast<unsigned char>(delimiter));
  // Only spaces are trimmed around unquoted fields: a tab may be the delimiter.
  csv_set_space_func(parser_, is_blank);
  csv_set_realloc_func(parser_, bounded_realloc);
}

csv_stream::~csv_stream() {
  csv_free(parser_);
  delete parser_;
}

void csv_stream::fail() {
  const int code = csv_error(parser_);
  const char* why = code == CSV_ENOMEM ? "a field is longer than 1 MiB" : csv_strerror(code);
  throw error(
      errc::invalid_argument,
      fmt::format("not valid CSV (RFC 4180) at line {} of the table: {}", records_ + 1, why));
}

void csv_stream::feed(std::string_view bytes) {
  if (at_start_ && !bytes.empty()) {
    // A UTF-8 byte-order mark (only whole in the first chunk, which the
    // caller makes at least a few bytes long).
    if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
    at_start_ = false;
  }
  if (csv_parse(parser_, bytes.data(), bytes.size(), field_cb, record_cb, this) != bytes.size())
    fail();
}

void csv_stream::finish() {
  if (csv_fini(parser_, field_cb, record_cb, this) != 0) fail();
}

void csv_stream::on_field(const char* data, std::size_t len) {
  ++total_;
  if (ends_.size() >= max_fields_) return;
  if (data) arena_.append(data, len);
  ends_.push_back(arena_.size());
}

void csv_stream::on_record() {
  views_.clear();
  std::size_t begin = 0;
  for (std::size_t end : ends_) {
    views_.emplace_back(arena_.data() + begin, end - begin);
    begin = end;
  }
  const std::size_t total = total_;
  total_ = 0;
  ++records_;
  on_record_(views_, total);
  arena_.clear();
  ends_.clear();
}

std::string extension_of(std::string_view filename) {
  const auto slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  const auto dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  std::string e(filename.substr(dot));
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

bool has_extension(std::string_view filename, std::string_view ext) noexcept {
  if (filename.size() < ext.size()) return false;
  const auto tail = filename.substr(filename.size() - ext.size());
  return std::equal(tail.begin(), tail.end(), ext.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

}  // namespace trevor::detail
