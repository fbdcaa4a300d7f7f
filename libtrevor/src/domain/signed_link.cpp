#include "trevor/signed_link.hpp"

#include <array>
#include <charconv>
#include <vector>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "domain/sha256.hpp"
#include "trevor/error.hpp"

namespace trevor {
namespace {

constexpr std::array<std::string_view, 3> purpose_names{"release_download", "object_download",
                                                        "slot_upload"};

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

[[noreturn]] void refuse(std::string_view why) {
  throw error(errc::forbidden, fmt::format("link token refused: {}", why));
}

}  // namespace

std::string_view to_string(link_purpose p) noexcept {
  return purpose_names[static_cast<std::size_t>(p)];
}

link_signer::link_signer(std::string secret) : secret_(std::move(secret)) {
  if (secret_.size() < min_link_secret_bytes)
    throw error(errc::invalid_argument,
                fmt::format("link secret: at least {} bytes required, got {}",
                            min_link_secret_bytes, secret_.size()));
}

std::string link_signer::random_secret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw error(errc::internal, "link secret: no random bytes");
  return detail::hex_of(bytes.data(), bytes.size());
}

std::string_view link_signer::link_id(std::string_view token) noexcept {
  // v1.<purpose>.<uuid>.<expiry>.<nonce>.<mac>: the nonce is the 32 digits
  // before the last dot.
  const auto last = token.rfind('.');
  if (last == std::string_view::npos || last < 33 || token[last - 33] != '.') return {};
  return token.substr(last - 32, 32);
}

std::string link_signer::mac_hex(std::string_view signed_part) const {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
            reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(),
            mac.data(), &len))
    throw error(errc::internal, "link token: HMAC-SHA256 failed");
  return detail::hex_of(mac.data(), len);
}

std::string link_signer::issue(const link_claims& c) const {
  std::array<unsigned char, 16> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1)
    throw error(errc::internal, "link token: no random bytes");
  std::string signed_part =
      fmt::format("v1.{}.{}.{}.{}", to_string(c.purpose), c.resource.str(), c.expires_at.micros(),
                  detail::hex_of(nonce.data(), nonce.size()));
  return signed_part + "." + mac_hex(signed_part);
}

link_claims link_signer::verify(std::string_view token, link_purpose purpose, const uuid& resource,
                                timestamp now) const {
  if (token.size() > 512) refuse("malformed");
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const auto dot = token.find('.', start);
    parts.push_back(token.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() != 6 || parts[0] != "v1" || parts[4].size() != 32 || !is_lower_hex(parts[4]) ||
      parts[5].size() != 64 || !is_lower_hex(parts[5]))
    refuse("malformed");
  // The MAC first: nothing of an unauthenticated token is interpreted.
  const std::string_view signed_part = token.substr(0, token.size() - parts[5].size() - 1);
  const std::string expected = mac_hex(signed_part);
  if (CRYPTO_memcmp(expected.data(), parts[5].data(), expected.size()) != 0)
    refuse("bad signature");
  link_claims c;
  bool known = false;
  for (std::size_t i = 0; i < purpose_names.size(); ++i)
    if (parts[1] == purpose_names[i]) {
      c.purpose = static_cast<link_purpose>(i);
      known = true;
    }
  const auto id = uuid::parse(parts[2]);
  std::int64_t expires = 0;
  const auto [end, ec] =
      std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), expires);
  if (!known || !id || ec != std::errc() || end != parts[3].data() + parts[3].size())
    refuse("malformed");
  c.resource = *id;
  c.expires_at = timestamp(expires);
  if (c.purpose != purpose) refuse(fmt::format("made for {}", to_string(c.purpose)));
  if (c.resource != resource) refuse("made for another resource");
  if (!(now < c.expires_at)) refuse(fmt::format("expired at {}", c.expires_at.str()));
  return c;
}

}  // namespace trevor
