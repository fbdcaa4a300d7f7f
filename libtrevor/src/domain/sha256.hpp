#pragma once
// SHA-256 (internal): incremental, for checksums of migrations and, later,
// streamed object bytes.

#include <memory>
#include <string>
#include <string_view>

namespace trevor::detail {

/// Lower-case hex of `n` bytes.
std::string hex_of(const unsigned char* data, std::size_t n);

class sha256 {
 public:
  sha256();
  ~sha256();
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;

  void update(std::string_view bytes);
  /// Lower-case hex digest; the object cannot be updated afterwards.
  std::string hex_digest();

 private:
  struct state;
  std::unique_ptr<state> s_;
};

inline std::string sha256_hex(std::string_view bytes) {
  sha256 h;
  h.update(bytes);
  return h.hex_digest();
}

}  // namespace trevor::detail
