#pragma once
// trevord's HTTP server (Boost.Beast on Asio): the listening socket, its
// accept loop and the sessions it starts (session.hpp).
//
// The server runs on the daemon's I/O context and hands calls that touch the
// database to the daemon's worker pool, so a slow query never blocks
// accepting or serving other connections; streamed uploads run on transfer
// threads of its own. A drain (drain()) closes the listener and waits for
// the requests in flight; the daemon decides when and stops the I/O.

#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/api.hpp"
#include "daemon/config.hpp"
#include "daemon/metrics.hpp"
#include "daemon/status.hpp"
#include "http/session.hpp"
#include "http/worker_bridge.hpp"

namespace trevord {

class server {
 public:
  /// Binds the listening socket (cfg.host, cfg.port). Throws
  /// std::system_error when it cannot. Everything passed in outlives the
  /// server.
  server(const config& cfg, boost::asio::io_context& io, boost::asio::thread_pool& workers,
         trevord::api& api, daemon_status& status, trevord::metrics& metrics);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// The bound port (useful with TREVOR_PORT=0).
  unsigned short port() const;

  /// Starts accepting connections.
  void start();

  /// On the I/O context: closes the listener, then calls `drained` once no
  /// request is in flight or at `deadline`, whichever comes first.
  void drain(std::chrono::steady_clock::time_point deadline, std::function<void()> drained);

  /// The I/O context has stopped for good: wakes the workers waiting for
  /// socket I/O (they give up) and waits for the transfer threads.
  void io_stopped();

 private:
  void accept();
  void wait_for_in_flight(std::chrono::steady_clock::time_point deadline,
                          std::function<void()> drained);

  boost::asio::io_context& io_;
  daemon_status& status_;
  boost::asio::thread_pool transfers_;
  worker_bridge bridge_;
  session_context sessions_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace trevord
