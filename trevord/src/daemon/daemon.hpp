#pragma once
// The daemon: composes config → database → services → API → HTTP server,
// owns what is the process's own (its status and readiness, the I/O
// threads, the database worker pool, the background jobs) and drains on
// SIGTERM or SIGINT.
//
// I/O runs on `threads` threads; anything that touches the database runs on
// a separate worker pool sized like the connection pool (handlers and
// background jobs alike). A drain (signal or stop()) closes the listener,
// stops the background jobs, answers /readyz with 503, lets requests in
// flight finish (up to drain_timeout) and makes run() return.

#include <memory>

#include "daemon/config.hpp"
#include "trevor/database.hpp"

namespace trevor {
struct workflow_options;
}

namespace trevord {

class daemon {
 public:
  /// Builds the services and binds the listening socket. Throws
  /// std::system_error when it cannot bind.
  daemon(const config& cfg, trevor::database db);
  /// The same with the workflow's options given rather than derived from
  /// `cfg` (tests: finer link lifetimes than the configuration's hours).
  daemon(const config& cfg, trevor::database db, const trevor::workflow_options& options);
  ~daemon();
  daemon(const daemon&) = delete;
  daemon& operator=(const daemon&) = delete;

  /// The bound port (useful with TREVOR_PORT=0).
  unsigned short port() const;

  /// Serves until a signal (or stop()) drains the daemon.
  void run();
  /// Starts a drain from any thread.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace trevord
