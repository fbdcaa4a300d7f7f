#pragma once
// One HTTP request as a handler sees it (`call`), and what the handler
// answers (`reply`).
//
// The HTTP session fills a call from the request it read and hands it to the
// API (api.hpp); the handler never sees the connection, only the call's
// body (read whole, or pulled through read_body) and, for a streamed
// answer, its sink.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

#include "auth/auth.hpp"
#include "http/http_error.hpp"
#include "trevor/blob_store.hpp"
#include "trevor/uuid.hpp"

namespace trevord {

/// Where a streamed answer (a download) goes: the server writes the head when
/// the first chunk arrives, so a handler that throws before writing still
/// gets a problem answer.
class body_sink {
 public:
  virtual ~body_sink() = default;
  /// Sets the answer's head; call before the first write(). Without a
  /// content length the body is sent chunked.
  virtual void start(std::optional<std::uint64_t> content_length, std::string content_type,
                     std::string content_disposition) = 0;
  virtual void write(std::string_view chunk) = 0;
  /// Instead of start() and write(): answers with the bytes `source` yields,
  /// pulled and written by the server after the handler returned, off the
  /// worker (a slow reader never holds a worker or a database connection).
  virtual void stream(std::optional<std::uint64_t> content_length, std::string content_type,
                      std::string content_disposition, trevor::byte_reader source) = 0;
};

/// One HTTP request as a handler sees it.
struct call {
  boost::beast::http::verb method{};
  std::string route;                                        // the matched pattern
  std::vector<std::pair<std::string, std::string>> params;  // path parameters by name
  std::vector<std::pair<std::string, std::string>> query;   // decoded query parameters
  std::string content_type;
  std::string body;  // body_mode::json
  /// body_mode::upload: pulls the raw body; 0 at its end.
  std::function<std::size_t(char*, std::size_t)> read_body;
  body_sink* sink = nullptr;
  principal who;
  /// The Authorization header of a route that needs none (the link routes):
  /// a signed-in person presenting a link is audited as themselves.
  std::string authorization;
  std::string client_address;  // the peer's IP address
  std::string user_agent;

  /// A path parameter that must be a UUID (422 otherwise).
  trevor::uuid id(std::string_view name) const;
  std::optional<std::string> query_value(std::string_view name) const;
  /// A query parameter that must be a UUID when present (422 otherwise).
  std::optional<trevor::uuid> query_id(std::string_view name) const;
  /// A whole-number query parameter in [lo, hi] when present (422 otherwise).
  std::optional<long long> query_integer(std::string_view name, long long lo, long long hi) const;
  /// A true/false query parameter when present (422 otherwise).
  std::optional<bool> query_bool(std::string_view name) const;
};

struct reply {
  http::status status = http::status::ok;
  std::optional<boost::json::value> body;  // none: an empty body (204)
  bool streamed = false;                   // the handler answered through call::sink
  std::string text;                        // a non-JSON body (metrics, OpenAPI)
  std::string content_type = "application/json";
  /// Extra response header fields (a list's X-Next-Cursor and Link).
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace trevord
