#include "http/multipart.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "http/http_error.hpp"

namespace trevord {

namespace {

// Bytes pulled from the source per read.
constexpr std::size_t chunk_bytes = 64 * 1024;
// A part's header block (Content-Disposition, Content-Type) is small; this
// bounds the memory a hostile client can make us buffer.
constexpr std::size_t max_part_header_bytes = 8 * 1024;
// RFC 2046: a boundary is 1 to 70 characters.
constexpr std::size_t max_boundary = 70;

[[noreturn]] void malformed(std::string_view why) {
  throw http_error(http::status::bad_request, fmt::format("malformed multipart body: {}", why));
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The value of `param` in a header value such as
/// `form-data; name="file"; filename="a.csv"` (quoted or token form).
std::optional<std::string> header_param(std::string_view value, std::string_view param) {
  std::size_t at = 0;
  while ((at = value.find(';', at)) != std::string_view::npos) {
    ++at;
    auto rest = trim(value.substr(at));
    const auto eq = rest.find('=');
    if (eq == std::string_view::npos) continue;
    if (lower(trim(rest.substr(0, eq))) != param) continue;
    auto v = trim(rest.substr(eq + 1));
    if (!v.empty() && v.front() == '"') {
      std::string out;
      for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
          out.push_back(v[++i]);
        } else if (v[i] == '"') {
          return out;
        } else {
          out.push_back(v[i]);
        }
      }
      return std::nullopt;  // unterminated quote
    }
    return std::string(v.substr(0, v.find(';')));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> multipart_reader::boundary_of(std::string_view content_type) {
  const auto semi = content_type.find(';');
  if (lower(trim(content_type.substr(0, semi))) != "multipart/form-data") return std::nullopt;
  auto b = header_param(content_type, "boundary");
  if (!b || b->empty() || b->size() > max_boundary) return std::string();
  return b;
}

multipart_reader::multipart_reader(std::string_view boundary, source src)
    : delimiter_("\r\n--" + std::string(boundary)), src_(std::move(src)) {
  // The first delimiter has no CRLF before it: pretend it has.
  buf_ = "\r\n";
}

bool multipart_reader::fill() {
  if (pos_ > 0 && pos_ * 2 >= buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  const auto old = buf_.size();
  buf_.resize(old + chunk_bytes);
  const auto n = src_(buf_.data() + old, chunk_bytes);
  buf_.resize(old + n);
  return n > 0;
}

std::size_t multipart_reader::read(char* out, std::size_t capacity) {
  if (state_ != state::in_part) return 0;
  for (;;) {
    const auto found = buf_.find(delimiter_, pos_);
    if (found != std::string::npos) {
      const auto n = std::min(capacity, found - pos_);
      std::copy_n(buf_.data() + pos_, n, out);
      pos_ += n;
      if (pos_ == found) {
        pos_ += delimiter_.size();
        state_ = state::at_delimiter;
      }
      if (n > 0) return n;
      return 0;
    }
    // Bytes that cannot be the start of a delimiter are the part's.
    const auto keep = delimiter_.size() - 1;
    if (buf_.size() > pos_ + keep) {
      const auto n = std::min(capacity, buf_.size() - keep - pos_);
      std::copy_n(buf_.data() + pos_, n, out);
      pos_ += n;
      return n;
    }
    if (!fill()) malformed("the body ends inside a part (no closing boundary)");
  }
}

std::string multipart_reader::read_all(std::string_view field, std::size_t max_bytes) {
  std::string out;
  char chunk[4096];
  while (const auto n = read(chunk, sizeof chunk)) {
    if (out.size() + n > max_bytes)
      throw http_error(http::status::unprocessable_entity,
                       fmt::format("{}: longer than {} bytes", field, max_bytes));
    out.append(chunk, n);
  }
  return out;
}

std::optional<multipart_reader::part> multipart_reader::next() {
  if (state_ == state::done) return std::nullopt;
  if (state_ == state::in_part) {
    char sink[4096];
    while (read(sink, sizeof sink) > 0) {
    }
  }
  if (state_ == state::before_first) {
    // Preamble: anything up to the first delimiter.
    for (;;) {
      const auto found = buf_.find(delimiter_, pos_);
      if (found != std::string::npos) {
        pos_ = found + delimiter_.size();
        break;
      }
      if (buf_.size() > max_part_header_bytes) malformed("no boundary where the body starts");
      if (!fill()) malformed("no boundary in the body");
    }
  }
  // After a delimiter: "--" closes the body; otherwise optional padding and CRLF.
  while (buf_.size() < pos_ + 2)
    if (!fill()) malformed("the body ends after a boundary");
  if (buf_.compare(pos_, 2, "--") == 0) {
    state_ = state::done;
    return std::nullopt;
  }
  std::size_t header_end;
  for (;;) {
    header_end = buf_.find("\r\n\r\n", pos_);
    if (header_end != std::string::npos) break;
    if (buf_.size() - pos_ > max_part_header_bytes) malformed("a part's headers are too long");
    if (!fill()) malformed("the body ends inside a part's headers");
  }
  const std::string_view block(buf_.data() + pos_, header_end - pos_);
  const auto first_crlf = block.find("\r\n");
  if (first_crlf == std::string_view::npos || !trim(block.substr(0, first_crlf)).empty())
    malformed("a boundary line is followed by other text");
  part p;
  bool disposition = false;
  std::size_t line_start = first_crlf + 2;
  while (line_start < block.size()) {
    auto line_end = block.find("\r\n", line_start);
    if (line_end == std::string_view::npos) line_end = block.size();
    const auto line = block.substr(line_start, line_end - line_start);
    line_start = line_end + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) malformed("a part header has no ':'");
    const auto name = lower(trim(line.substr(0, colon)));
    const auto value = trim(line.substr(colon + 1));
    if (name == "content-disposition") {
      if (lower(trim(value.substr(0, value.find(';')))) != "form-data")
        malformed("a part is not form-data");
      auto n = header_param(value, "name");
      if (!n) malformed("a part has no name");
      p.name = std::move(*n);
      p.filename = header_param(value, "filename");
      disposition = true;
    } else if (name == "content-type") {
      p.content_type = std::string(value);
    }
  }
  if (!disposition) malformed("a part has no Content-Disposition");
  pos_ = header_end + 4;
  state_ = state::in_part;
  return p;
}

}  // namespace trevord
