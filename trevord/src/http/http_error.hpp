#pragma once
// The daemon's own refusals (malformed input, credentials, content types,
// sizes) and the mapping of libtrevor's error codes to HTTP statuses.

#include <stdexcept>
#include <string>

#include <boost/beast/http/status.hpp>

#include "trevor/error.hpp"

namespace trevord {

namespace http = boost::beast::http;

/// A refusal with its status; `what()` is the problem's `detail`.
class http_error : public std::runtime_error {
 public:
  http_error(http::status status, const std::string& detail)
      : std::runtime_error(detail), status_(status) {}
  http::status status() const noexcept { return status_; }

 private:
  http::status status_;
};

/// not_found 404, forbidden 403, conflict and invalid_transition 409,
/// invalid_argument 422, unavailable 503, internal 500.
constexpr http::status status_of(trevor::errc code) noexcept {
  switch (code) {
    case trevor::errc::not_found: return http::status::not_found;
    case trevor::errc::forbidden: return http::status::forbidden;
    case trevor::errc::conflict:
    case trevor::errc::invalid_transition: return http::status::conflict;
    case trevor::errc::invalid_argument: return http::status::unprocessable_entity;
    case trevor::errc::unavailable: return http::status::service_unavailable;
    case trevor::errc::internal: return http::status::internal_server_error;
  }
  return http::status::internal_server_error;
}

}  // namespace trevord
