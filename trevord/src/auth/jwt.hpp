#pragma once
// Local verification of the identity provider's JWT access tokens.
//
// Only RS256 and ES256 are accepted, each only with a key of its own type
// from the provider's JWKS: `alg: none`, the HMAC family and any other
// algorithm are refused before a key is looked at, so a token "signed" with
// the public key as an HMAC secret can never verify. Keys are parsed once when
// the key set is loaded (a PEM or JWK parse costs about half a millisecond;
// verifying with a parsed key costs tens of microseconds) and shared by every
// thread.

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace trevord {

/// Why a token was refused; the message is safe to return to the client.
class token_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct token_rules {
  std::string issuer;    // required `iss`
  std::string audience;  // required in `aud` (a string or an array)
  /// Clock skew tolerated on `exp` and `nbf`.
  std::chrono::seconds leeway{30};
};

/// A parsed JSON Web Key Set (RFC 7517): the RSA and P-256 EC signing keys.
/// Immutable once built; safe to share between threads.
class key_set {
 public:
  /// Parses a JWKS document ({"keys": [...]}). Keys that are not signing keys
  /// (`use` other than "sig") or of an unsupported type are skipped; a
  /// malformed document, or one without a usable key, throws token_error.
  static std::shared_ptr<const key_set> parse(std::string_view jwks_json);

  ~key_set();
  key_set(const key_set&) = delete;
  key_set& operator=(const key_set&) = delete;

  std::size_t size() const noexcept;
  /// Whether a key with this id is in the set.
  bool has_kid(std::string_view kid) const noexcept;

  struct key;  // defined in jwt.cpp

 private:
  key_set();
  friend boost::json::object verify_token(std::string_view, const key_set&, const token_rules&,
                                          std::chrono::system_clock::time_point);
  std::vector<std::unique_ptr<key>> keys_;
};

/// Verifies a compact JWS: structure, algorithm, signature against `keys`,
/// then `iss`, `aud`, `exp` (required), `nbf` (when present) and `sub`
/// (required). Returns the claims; throws token_error naming the first
/// problem. Thread-safe.
boost::json::object verify_token(std::string_view token, const key_set& keys,
                                 const token_rules& rules,
                                 std::chrono::system_clock::time_point now);

/// The `kid` of a token's header, or empty (no verification).
std::string token_kid(std::string_view token);

/// base64url without padding (RFC 4648 §5), as JWS uses it.
std::string base64url_decode(std::string_view in);  // throws token_error
std::string base64url_encode(std::string_view in);

}  // namespace trevord
