#pragma once
// A push parser over libcsv (internal): bytes in, one callback per record
// with its fields. RFC 4180 (strict quoting); blank lines are skipped; a
// UTF-8 byte-order mark before the first field is dropped. Memory: libcsv's
// field buffer (refused beyond sdc_limits::max_field_bytes) and one record's
// fields, of which at most `max_fields` are kept (the rest are counted).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct csv_parser;

namespace trevor::detail {

class csv_stream {
 public:
  /// `fields` holds the record's first `max_fields` fields; `total` counts them all.
  using record_handler =
      std::function<void(std::span<const std::string_view> fields, std::size_t total)>;

  csv_stream(char delimiter, std::size_t max_fields, record_handler on_record);
  ~csv_stream();
  csv_stream(const csv_stream&) = delete;
  csv_stream& operator=(const csv_stream&) = delete;

  /// Throws error(invalid_argument) naming the record when the bytes are not CSV.
  void feed(std::string_view bytes);
  /// Ends the input (the last record may lack its line break).
  void finish();

  /// Records delivered so far (the header included).
  std::uint64_t records() const noexcept { return records_; }

  // libcsv's callbacks
  void on_field(const char* data, std::size_t len);
  void on_record();

 private:
  [[noreturn]] void fail();

  csv_parser* parser_;
  std::size_t max_fields_;
  record_handler on_record_;
  std::string arena_;
  std::vector<std::size_t> ends_;
  std::vector<std::string_view> views_;
  std::size_t total_ = 0;
  std::uint64_t records_ = 0;
  bool at_start_ = true;
};

/// True when `path`'s extension (case-insensitive) is `ext` (with its dot).
bool has_extension(std::string_view filename, std::string_view ext) noexcept;
/// The lower-case extension with its dot ("" when there is none).
std::string extension_of(std::string_view filename);

}  // namespace trevor::detail
