#pragma once
// trevor::link_signer — unguessable, expiring, HMAC-signed capability tokens
// for download and upload links (the equivalent of an S3 pre-signed URL).
//
// A token binds a purpose, one resource id and an expiry time, plus 128
// random bits, under HMAC-SHA256 with a secret from configuration:
//
//   v1.<purpose>.<resource uuid>.<expiry, µs since the epoch>.<nonce hex>.<mac hex>
//
// Every character is URL-safe, so a token goes into a path as it is.
// Changing any field breaks the MAC; a token for one resource or purpose is
// refused for another. The secret must be at least 32 bytes.
//
// Thread-safety: a link_signer is immutable; share it freely.

#include <string>
#include <string_view>

#include "trevor/export.hpp"
#include "trevor/time.hpp"
#include "trevor/uuid.hpp"

namespace trevor {

enum class link_purpose {
  release_download,  // an egress request's RO-Crate package
  object_download,   // one approved object of a delivered ingress request
  slot_upload,       // the bytes of one ingress slot
};

TREVOR_EXPORT std::string_view to_string(link_purpose p) noexcept;

struct link_claims {
  link_purpose purpose{};
  uuid resource;
  timestamp expires_at;
  friend bool operator==(const link_claims&, const link_claims&) = default;
};

inline constexpr std::size_t min_link_secret_bytes = 32;

class TREVOR_EXPORT link_signer {
 public:
  /// invalid_argument when the secret is shorter than min_link_secret_bytes.
  explicit link_signer(std::string secret);

  /// 32 bytes from a cryptographic random source, hex-encoded: a secret for
  /// a signer whose links need not outlive the process.
  static std::string random_secret();

  /// A token's nonce (32 hex digits): the id its audit events name. Empty
  /// for a string that is not shaped like a token. Call after verify().
  static std::string_view link_id(std::string_view token) noexcept;

  /// A new token for the claims (two calls never give the same token).
  std::string issue(const link_claims& claims) const;

  /// The token's claims when it is genuine, made for `purpose` and
  /// `resource`, and `now` is before its expiry; otherwise forbidden, whose
  /// message says which check failed (malformed, signature, purpose,
  /// resource, expired).
  link_claims verify(std::string_view token, link_purpose purpose, const uuid& resource,
                     timestamp now) const;

 private:
  std::string mac_hex(std::string_view signed_part) const;
  std::string secret_;
};

}  // namespace trevor
