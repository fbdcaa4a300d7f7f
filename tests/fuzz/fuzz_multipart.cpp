// libFuzzer target: the streaming multipart/form-data reader on any body.
// Refusals are http_error; anything else escaping, a crash or a sanitizer
// report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>  // Beast's status.ipp streams without including it
#include <string_view>

#include "http/http_error.hpp"
#include "http/multipart.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first byte picks how the body is cut into reads (1 to 256 bytes).
  if (size == 0) return 0;
  const std::size_t chunk = static_cast<std::size_t>(data[0]) + 1;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t at = 0;
  trevord::multipart_reader reader("XyZ-boundary", [&](char* out, std::size_t cap) {
    const std::size_t n = std::min({cap, chunk, body.size() - at});
    std::memcpy(out, body.data() + at, n);
    at += n;
    return n;
  });
  try {
    char buf[512];
    for (int parts = 0; parts < 64; ++parts) {
      auto p = reader.next();
      if (!p) break;
      if (p->filename) {
        while (reader.read(buf, sizeof buf) > 0) {
        }
      } else {
        (void)reader.read_all(p->name, 4096);
      }
    }
  } catch (const trevord::http_error&) {
  }
  (void)trevord::multipart_reader::boundary_of(
      body.substr(0, std::min<std::size_t>(body.size(), 200)));
  return 0;
}
