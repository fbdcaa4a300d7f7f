#pragma once
// trevord's API: what a handler may call, and the running of one call.
//
// A handler parses what the client sent, calls one libtrevor operation as the
// authenticated principal and serialises the answer; no business rule lives
// here. Handlers run on worker threads (never on an I/O thread) and may
// block; they report refusals by throwing http_error or trevor::error, which
// dispatch() turns into the status and detail of a problem+json answer.
//
// The API is built by the daemon from what the daemon owns (the services, the
// metrics, the daemon's status) and knows nothing of the server above it.

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/call.hpp"
#include "api/routes.hpp"
#include "auth/auth.hpp"
#include "daemon/config.hpp"
#include "daemon/metrics.hpp"
#include "daemon/services.hpp"
#include "daemon/status.hpp"
#include "http/http_error.hpp"

namespace trevord {

/// How one call ended: the handler's reply, or the refusal it ended in.
struct outcome {
  reply r;
  http::status status = http::status::ok;
  /// Not empty: the call was refused with this problem detail.
  std::string detail;
  /// Who called, for the request log ("-" when not authenticated).
  std::string actor = "-";
};

/// Uploads in progress per user, for TREVOR_MAX_UPLOADS_PER_USER.
/// Thread-safe.
class upload_counter {
 public:
  /// Counts one more upload of `who` unless `max` are in progress already.
  bool try_begin(const std::string& who, std::size_t max);
  void end(const std::string& who);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> in_progress_;
};

/// The services a handler calls, and the caller's authentication.
class api {
 public:
  /// Everything but the authenticator is the daemon's and outlives the API.
  api(const config& cfg, services& svc, trevord::metrics& metrics, const daemon_status& status);

  /// Authenticates the caller when the route needs it and runs the route's
  /// handler; every exception ends up in the outcome's status and detail
  /// (an unexpected one, or a libtrevor internal error, is logged with
  /// `request_id`). Blocks: call it from a worker (or the I/O thread for
  /// runs_inline routes).
  outcome dispatch(const route& r, call& c, std::string_view authorization,
                   const std::string& request_id);

  const config& cfg;
  trevor::database& db;
  trevor::workflow& workflow;
  trevor::directory& directory;
  trevor::inbox& inbox;
  trevor::dashboard& dashboard;
  /// Read only: downloads open their blob and hand it to the server.
  const trevor::blob_store& blobs;
  authenticator auth;
  trevord::metrics& metrics;
  /// Readiness and the gauges only the daemon knows (in flight, draining).
  const daemon_status& status;
  /// Authenticated uploads in progress (429 beyond TREVOR_MAX_UPLOADS_PER_USER).
  upload_counter uploads;
  /// The verifiable audit trail (checkpoint, proofs, leaves).
  trevor::audit_trail& audit;

  /// The built-in agent (its preview, the policy it checks under).
  trevor::sdc_agent& agent;
  /// Called after a successful submit or resubmit (the daemon nudges the
  /// built-in agent's worker); empty when no worker waits for it.
  std::function<void()> submitted;
  /// Called after every successful call that is not a GET (the daemon nudges
  /// the notifier, so notification rows just committed leave at once).
  std::function<void()> changed;
  /// The notifier (its admin read model).
  trevor::notifier& notifier;
};

}  // namespace trevord
