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
#include <boost/asio/steady_timer.hpp>
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
  /// Raises the soft limit of open files to the hard limit, then binds the
  /// listening socket (cfg.host, cfg.port). Throws
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
  /// Accepting failed for want of file descriptors: wait, then accept again
  /// (the failure would repeat at once), logging it once per interval.
  void back_off(const boost::system::error_code& ec);
  /// Over TREVOR_MAX_CONNECTIONS: a 503 if the socket takes it at once, then close.
  void refuse(boost::asio::ip::tcp::socket socket);
  void wait_for_in_flight(std::chrono::steady_clock::time_point deadline,
                          std::function<void()> drained);

  boost::asio::io_context& io_;
  daemon_status& status_;
  boost::asio::thread_pool transfers_;
  worker_bridge bridge_;
  session_context sessions_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::size_t max_connections_;
  boost::asio::steady_timer backoff_;
  // Accept failures and refusals not logged yet, and when the last line went out.
  std::size_t unlogged_failures_ = 0;
  std::size_t unlogged_refusals_ = 0;
  std::chrono::steady_clock::time_point failure_logged_{};
  std::chrono::steady_clock::time_point refusal_logged_{};
};

}  // namespace trevord
