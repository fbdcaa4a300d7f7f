#include "auth/jwt.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <boost/json/parse.hpp>

namespace trevord {

namespace json = boost::json;

namespace {

struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct ctx_free {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct bld_free {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct params_free {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct bn_free {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct sig_free {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

enum class algorithm { rs256, es256 };

// The size of a P-256 coordinate and of each half of an ES256 signature.
constexpr std::size_t p256_bytes = 32;
// RSA keys below this are refused (NIST SP 800-131A).
constexpr int min_rsa_bits = 2048;

int b64_value(char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '-') return 62;
  if (ch == '_') return 63;
  return -1;
}

const json::string* string_member(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v ? v->if_string() : nullptr;
}

pkey_ptr from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, params_free> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, ctx_free> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0)
    return nullptr;
  return pkey_ptr(raw);
}

pkey_ptr rsa_key(const json::object& jwk) {
  const auto* n = string_member(jwk, "n");
  const auto* e = string_member(jwk, "e");
  if (!n || !e) throw token_error("an RSA key lacks n or e");
  const std::string nb = base64url_decode(*n), eb = base64url_decode(*e);
  std::unique_ptr<BIGNUM, bn_free> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(nb.data()),
                                                  static_cast<int>(nb.size()), nullptr));
  std::unique_ptr<BIGNUM, bn_free> bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(eb.data()),
                                                  static_cast<int>(eb.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, bld_free> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()))
    throw token_error("an RSA key could not be read");
  auto key = from_params("RSA", bld.get());
  if (!key) throw token_error("an RSA key could not be read");
  if (EVP_PKEY_get_bits(key.get()) < min_rsa_bits)
    throw token_error(fmt::format("an RSA key is shorter than {} bits", min_rsa_bits));
  return key;
}

pkey_ptr ec_key(const json::object& jwk) {
  const auto* crv = string_member(jwk, "crv");
  const auto* x = string_member(jwk, "x");
  const auto* y = string_member(jwk, "y");
  if (!crv || *crv != "P-256") throw token_error("an EC key is not on curve P-256");
  if (!x || !y) throw token_error("an EC key lacks x or y");
  const std::string xb = base64url_decode(*x), yb = base64url_decode(*y);
  if (xb.size() != p256_bytes || yb.size() != p256_bytes)
    throw token_error("an EC key's coordinates are not 32 bytes");
  std::string point = "\x04" + xb + yb;  // uncompressed SEC1 point
  std::unique_ptr<OSSL_PARAM_BLD, bld_free> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size()))
    throw token_error("an EC key could not be read");
  auto key = from_params("EC", bld.get());
  if (!key) throw token_error("an EC key is not a point on P-256");
  return key;
}

/// ES256 signatures are r || s (32 bytes each); OpenSSL verifies DER.
std::string es256_to_der(std::string_view raw) {
  if (raw.size() != 2 * p256_bytes) throw token_error("the ES256 signature is not 64 bytes");
  std::unique_ptr<ECDSA_SIG, sig_free> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), p256_bytes, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + p256_bytes, p256_bytes,
                        nullptr);
  if (!sig || !r || !s || !ECDSA_SIG_set0(sig.get(), r, s)) {
    BN_free(r);
    BN_free(s);
    throw token_error("the ES256 signature could not be read");
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) throw token_error("the ES256 signature could not be read");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool signature_valid(EVP_PKEY* key, std::string_view signed_part, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return false;
  return EVP_DigestVerify(
             md.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
}

json::object decode_part(std::string_view part, std::string_view what) {
  const std::string text = base64url_decode(part);
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object())
    throw token_error(fmt::format("the token's {} is not a JSON object", what));
  return std::move(v.as_object());
}

/// A NumericDate claim (seconds since the epoch), integer or not.
std::optional<double> numeric_claim(const json::object& claims, std::string_view name) {
  const auto* v = claims.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  throw token_error(fmt::format("the token's {} is not a number", name));
}

}  // namespace

struct key_set::key {
  std::string kid;
  algorithm alg;
  pkey_ptr pkey;
};

key_set::key_set() = default;
key_set::~key_set() = default;

std::size_t key_set::size() const noexcept {
  return keys_.size();
}

bool key_set::has_kid(std::string_view kid) const noexcept {
  return std::any_of(keys_.begin(), keys_.end(), [&](const auto& k) { return k->kid == kid; });
}

std::shared_ptr<const key_set> key_set::parse(std::string_view jwks_json) {
  boost::system::error_code ec;
  auto doc = json::parse(jwks_json, ec);
  if (ec || !doc.is_object()) throw token_error("the JWKS is not a JSON object");
  const auto* keys = doc.as_object().if_contains("keys");
  if (!keys || !keys->is_array()) throw token_error("the JWKS has no \"keys\" array");
  std::shared_ptr<key_set> set(new key_set());
  for (const auto& k : keys->as_array()) {
    if (!k.is_object()) continue;
    const auto& jwk = k.as_object();
    if (const auto* use = string_member(jwk, "use"); use && *use != "sig") continue;
    const auto* kty = string_member(jwk, "kty");
    const auto* alg = string_member(jwk, "alg");
    const auto* kid = string_member(jwk, "kid");
    auto entry = std::make_unique<key>();
    entry->kid = kid ? std::string(*kid) : std::string();
    if (kty && *kty == "RSA" && (!alg || *alg == "RS256")) {
      entry->alg = algorithm::rs256;
      entry->pkey = rsa_key(jwk);
    } else if (kty && *kty == "EC" && (!alg || *alg == "ES256")) {
      entry->alg = algorithm::es256;
      entry->pkey = ec_key(jwk);
    } else {
      continue;  // another algorithm (an encryption key, HMAC, RSA-PSS): not ours
    }
    set->keys_.push_back(std::move(entry));
  }
  if (set->keys_.empty()) throw token_error("the JWKS holds no RS256 or ES256 signing key");
  return set;
}

std::string token_kid(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) return {};
  try {
    const auto header = decode_part(token.substr(0, dot), "header");
    if (const auto* kid = string_member(header, "kid")) return std::string(*kid);
  } catch (const token_error&) {
  }
  return {};
}

json::object verify_token(std::string_view token, const key_set& keys, const token_rules& rules,
                          std::chrono::system_clock::time_point now) {
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    throw token_error("the bearer token is not a signed JWT (header.payload.signature)");
  const auto header = decode_part(token.substr(0, d1), "header");
  const auto* alg_name = string_member(header, "alg");
  if (!alg_name) throw token_error("the token's header names no algorithm");
  // RFC 7515 §4.1.11: extensions marked critical must be understood, and
  // this verifier implements none.
  if (const auto* crit = header.if_contains("crit")) {
    std::string names;
    if (crit->is_array())
      for (const auto& n : crit->get_array())
        if (n.is_string()) names += (names.empty() ? "" : ", ") + std::string(n.get_string());
    throw token_error(fmt::format(
        "the token's header marks extensions as critical (crit: {}); none is implemented here",
        names.empty() ? "?" : names));
  }
  algorithm alg;
  if (*alg_name == "RS256")
    alg = algorithm::rs256;
  else if (*alg_name == "ES256")
    alg = algorithm::es256;
  else
    throw token_error(
        fmt::format("the token's algorithm '{}' is not accepted (RS256 or ES256 only)",
                    std::string_view(*alg_name)));
  const auto* kid = string_member(header, "kid");

  std::string signature = base64url_decode(token.substr(d2 + 1));
  if (alg == algorithm::es256) signature = es256_to_der(signature);
  const std::string_view signed_part = token.substr(0, d2);
  bool any_key = false, verified = false;
  for (const auto& k : keys.keys_) {
    if (k->alg != alg || (kid && k->kid != std::string_view(*kid))) continue;
    any_key = true;
    if (signature_valid(k->pkey.get(), signed_part, signature)) {
      verified = true;
      break;
    }
  }
  if (!any_key)
    throw token_error(kid ? fmt::format("no {} key with kid '{}' in the JWKS",
                                        std::string_view(*alg_name), std::string_view(*kid))
                          : fmt::format("no {} key in the JWKS", std::string_view(*alg_name)));
  if (!verified) throw token_error("the token's signature does not verify");

  auto claims = decode_part(token.substr(d1 + 1, d2 - d1 - 1), "payload");
  const double t = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double leeway = static_cast<double>(rules.leeway.count());
  const auto exp = numeric_claim(claims, "exp");
  if (!exp) throw token_error("the token has no exp claim");
  if (t >= *exp + leeway) throw token_error("the token has expired");
  if (const auto nbf = numeric_claim(claims, "nbf"); nbf && t + leeway < *nbf)
    throw token_error("the token is not valid yet (nbf)");
  const auto* iss = string_member(claims, "iss");
  if (!iss || *iss != rules.issuer)
    throw token_error(fmt::format("the token's issuer is not {}", rules.issuer));
  bool audience_ok = false;
  if (const auto* aud = claims.if_contains("aud")) {
    if (aud->is_string()) audience_ok = aud->get_string() == rules.audience;
    if (aud->is_array())
      for (const auto& a : aud->get_array())
        audience_ok = audience_ok || (a.is_string() && a.get_string() == rules.audience);
  }
  if (!audience_ok) throw token_error(fmt::format("the token is not meant for {}", rules.audience));
  const auto* sub = string_member(claims, "sub");
  if (!sub || sub->empty()) throw token_error("the token has no sub claim");
  return claims;
}

std::string base64url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3 / 4 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    const int v = b64_value(ch);
    if (v < 0) throw token_error("the token is not base64url");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) throw token_error("the token is not base64url");
  return out;
}

std::string base64url_encode(std::string_view in) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

}  // namespace trevord
