#pragma once
// A streaming multipart/form-data reader (RFC 7578): parts are read one after
// the other from a pull source, a file part's bytes are handed on as they
// arrive, so an upload of any size needs a fixed amount of memory.
//
// Errors: http_error 400 for a body that is not well-formed multipart.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace trevord {

class multipart_reader {
 public:
  /// Reads raw body bytes; 0 at the end of the body.
  using source = std::function<std::size_t(char* buffer, std::size_t capacity)>;

  struct part {
    std::string name;
    std::optional<std::string> filename;  // present for file parts
    std::string content_type;
  };

  multipart_reader(std::string_view boundary, source src);

  /// Skips the rest of the current part and returns the next part's headers,
  /// or nullopt after the closing delimiter.
  std::optional<part> next();
  /// The current part's next bytes; 0 at the end of the part.
  std::size_t read(char* out, std::size_t capacity);
  /// The rest of the current part as text; http_error 422 naming `field`
  /// when it is longer than `max_bytes`.
  std::string read_all(std::string_view field, std::size_t max_bytes);

  /// The boundary parameter of a multipart/form-data Content-Type, or nullopt
  /// when the type is something else.
  static std::optional<std::string> boundary_of(std::string_view content_type);

 private:
  bool fill();  // appends source bytes to buf_; false at the end of the body
  std::string delimiter_;
  source src_;
  std::string buf_;
  std::size_t pos_ = 0;
  enum class state { before_first, in_part, at_delimiter, done } state_ = state::before_first;
};

}  // namespace trevord
