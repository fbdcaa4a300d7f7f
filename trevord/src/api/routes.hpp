#pragma once
// The route table: every endpoint trevord serves, how its body is read,
// whether it needs a bearer token, and the handler behind it
// (handlers/handlers.hpp); and the matching of a request's method and path
// against it.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>

#include "api/call.hpp"

namespace trevord {

/// How a route's request body is read before its handler runs.
enum class body_mode {
  none,    // no body expected (any sent is read, up to the JSON limit, and ignored)
  json,    // read whole (≤ max_json_body_bytes), application/json
  upload,  // streamed to the handler: multipart/form-data or application/octet-stream
};

class api;
using handler = reply (*)(api&, call&);

struct route {
  boost::beast::http::verb method;
  std::string_view pattern;  // segments; "{name}" matches one non-empty segment
  body_mode body;
  bool authenticated;
  handler handle;
  /// Never blocks (no database, no files): answered on the I/O thread.
  bool runs_inline = false;
};

/// Every route the daemon serves (the OpenAPI document lists the same set).
const std::vector<route>& routes();

struct route_match {
  const route* found = nullptr;
  std::vector<std::pair<std::string, std::string>> params;
  /// The methods the path allows when `found` is null but the path exists (405).
  std::vector<std::string_view> allowed;
};
route_match match_route(boost::beast::http::verb method, std::string_view path);

/// The OpenAPI 3.1 document served at /openapi.json (embedded at build time).
std::string_view openapi_document();

}  // namespace trevord
