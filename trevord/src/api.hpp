#pragma once
// trevord's API: the route table and the handlers behind it.
//
// A handler parses what the client sent, calls one libtrevor operation as the
// authenticated principal and serialises the answer; no business rule lives
// here. Handlers run on worker threads (never on an I/O thread) and may
// block; they report refusals by throwing http_error or trevor::error, which
// the server turns into problem+json answers.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

#include "auth.hpp"
#include "config.hpp"
#include "http_error.hpp"
#include "metrics.hpp"
#include "trevor/audit.hpp"
#include "trevor/blob_store.hpp"
#include "trevor/dashboard.hpp"
#include "trevor/database.hpp"
#include "trevor/directory.hpp"
#include "trevor/inbox.hpp"
#include "trevor/workflow.hpp"

namespace trevord {

/// How a route's request body is read before its handler runs.
enum class body_mode {
  none,    // no body expected (any sent is read, up to the JSON limit, and ignored)
  json,    // read whole (≤ max_json_body_bytes), application/json
  upload,  // streamed to the handler: multipart/form-data or application/octet-stream
};

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

/// The workflow's options as the configuration sets them.
trevor::workflow_options workflow_options_of(const config& cfg);

/// The services a handler calls, built once from the configuration.
class api {
 public:
  /// `options`: the workflow's, workflow_options_of(cfg) when serving (tests
  /// may refine them, e.g. link lifetimes shorter than the variables' hours).
  api(const config& cfg, trevor::database db, trevor::workflow_options options);

  const config& cfg;
  trevor::database db;
  std::unique_ptr<trevor::filesystem_blob_store> blobs;
  trevor::workflow workflow;
  trevor::directory directory;
  trevor::inbox inbox;
  trevor::dashboard dashboard;
  authenticator auth;
  trevord::metrics metrics;

  /// Readiness (database answers, schema current, not draining).
  std::function<std::pair<bool, std::string>()> readiness;
  /// Gauges for /metrics that only the server knows.
  std::function<trevord::metrics::gauges()> server_gauges;
};

/// The OpenAPI 3.1 document served at /openapi.json (embedded at build time).
std::string_view openapi_document();

}  // namespace trevord
