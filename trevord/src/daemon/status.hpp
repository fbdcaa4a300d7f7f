#pragma once
// What the daemon knows about itself and the layers below report: requests
// in flight, whether it is draining, and whether it is ready to serve.
//
// The daemon owns one and hands it down: the HTTP server counts requests in
// flight and reads the drain flag; the API answers /readyz and the gauges of
// /metrics from it. Nothing below the daemon calls back up into it.
// Thread-safe.

#include <atomic>
#include <string>
#include <string_view>
#include <utility>

#include "trevor/database.hpp"

namespace trevord {

/// What callers are told when the database cannot be reached; the driver's
/// own message (hosts, ports, server lines) goes to the log only.
inline constexpr std::string_view database_unavailable = "database unavailable; retry shortly";

class daemon_status {
 public:
  explicit daemon_status(trevor::database db) : db_(std::move(db)) {}

  /// Requests being answered now (the server counts them).
  std::atomic<int> in_flight{0};
  /// Set once a drain begins (SIGTERM, SIGINT or a stop request).
  std::atomic<bool> draining{false};

  /// Readiness: not draining, the database answers and its schema is the one
  /// this build expects (no migration pending, none unknown); otherwise
  /// false and why. Blocks on the database: call it from a worker.
  std::pair<bool, std::string> readiness() const;

 private:
  trevor::database db_;
};

}  // namespace trevord
