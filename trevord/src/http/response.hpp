#pragma once
// The answers trevord writes: a complete response with the daemon's headers
// (Server, X-Request-Id), and an RFC 9457 problem+json refusal.

#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/http_error.hpp"

namespace trevord {

using response = http::response<http::string_body>;

/// A response with `body` (Content-Type omitted for an empty 204).
response make_response(unsigned version, bool keep_alive, http::status status, std::string body,
                       std::string_view content_type, const std::string& request_id);

/// An application/problem+json refusal: type about:blank, the status's
/// title, the status and `detail`.
response problem(unsigned version, bool keep_alive, http::status status, std::string_view detail,
                 const std::string& request_id);

}  // namespace trevord
