// libFuzzer target: JWT and JWKS parsing. Input: a JWKS document and a token
// separated by a NUL byte. Refusals are token_error; anything else escaping,
// a crash or a sanitizer report is a finding.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/jwt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto nul = in.find('\0');
  const auto jwks = in.substr(0, nul);
  const auto token = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  try {
    (void)trevord::token_kid(token);
  } catch (const trevord::token_error&) {
  }
  try {
    (void)trevord::base64url_decode(token);
  } catch (const trevord::token_error&) {
  }
  try {
    const auto keys = trevord::key_set::parse(jwks);
    (void)trevord::verify_token(token, *keys,
                                {"https://idp.example", "trevor", std::chrono::seconds(30)},
                                std::chrono::system_clock::now());
  } catch (const trevord::token_error&) {
  }
  return 0;
}
