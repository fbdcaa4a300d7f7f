#pragma once
// trevord's HTTP server (Boost.Beast on Asio).
//
// I/O runs on `threads` threads; anything that touches the database runs on a
// separate worker pool sized like the connection pool, so a slow query never
// blocks accepting or serving other connections. SIGTERM or SIGINT starts a
// drain: the listener closes, /readyz answers 503, requests in flight finish
// (up to drain_timeout) and run() returns.

#include <memory>

#include "config.hpp"
#include "trevor/database.hpp"

namespace trevor {
struct workflow_options;
}

namespace trevord {

class server {
 public:
  /// Binds the listening socket. Throws std::system_error when it cannot.
  server(const config& cfg, trevor::database db);
  /// The same with the workflow's options given rather than derived from
  /// `cfg` (tests: finer link lifetimes than the configuration's hours).
  server(const config& cfg, trevor::database db, const trevor::workflow_options& options);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// The bound port (useful with TREVOR_PORT=0).
  unsigned short port() const;

  /// Serves until a signal (or stop()) drains the server.
  void run();
  /// Starts a drain from any thread.
  void stop();

  struct impl;  // defined in server.cpp; public so its sessions can name it

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace trevord
