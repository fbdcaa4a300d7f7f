#pragma once
// A small blocking HTTP(S) GET, the authenticator's only outbound call: it
// downloads the identity provider's JWKS (TREVOR_JWKS_URL).

#include <chrono>
#include <string>

namespace trevord {

/// GETs an http:// or https:// URL (TLS verified against the system's CA
/// store) and returns the body of a 200 answer; throws std::runtime_error.
std::string http_get(const std::string& url, std::chrono::seconds timeout);

}  // namespace trevord
