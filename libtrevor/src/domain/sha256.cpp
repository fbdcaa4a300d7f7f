#include "domain/sha256.hpp"

#include <openssl/evp.h>

#include "trevor/error.hpp"

namespace trevor::detail {

struct sha256::state {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~state() { EVP_MD_CTX_free(ctx); }
};

sha256::sha256() : s_(std::make_unique<state>()) {
  if (!s_->ctx || EVP_DigestInit_ex(s_->ctx, EVP_sha256(), nullptr) != 1)
    throw error(errc::internal, "sha256: OpenSSL initialisation failed");
}

sha256::~sha256() = default;

void sha256::update(std::string_view bytes) {
  if (EVP_DigestUpdate(s_->ctx, bytes.data(), bytes.size()) != 1)
    throw error(errc::internal, "sha256: update failed");
}

std::string sha256::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(s_->ctx, md, &len) != 1)
    throw error(errc::internal, "sha256: final failed");
  return hex_of(md, len);
}

std::string hex_of(const unsigned char* data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0x0f]);
  }
  return out;
}

}  // namespace trevor::detail
