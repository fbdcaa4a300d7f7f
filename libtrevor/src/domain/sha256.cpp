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
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(digits[md[i] >> 4]);
    out.push_back(digits[md[i] & 0x0f]);
  }
  return out;
}

}  // namespace trevor::detail
