#pragma once
// One HTTP connection.
//
// Reads each request's head on the connection's strand and checks it (header
// size, route, method, requests in flight, content type, body size, Expect:
// 100-continue); reads a JSON body whole, or leaves an upload's body to be
// pulled by its handler; has the API run the call on a worker
// (worker_bridge.hpp) and writes the answer, streamed or whole, or a
// problem+json refusal. Requests on one connection are answered in order,
// one at a time. A refusal that leaves a body unread closes the connection
// after lingering: what the client still sends is read and dropped for a
// moment, so that it reads the refusal rather than a reset. Every request is
// logged and counted in the metrics once answered.

#include <atomic>
#include <cstddef>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/api.hpp"
#include "daemon/config.hpp"
#include "daemon/metrics.hpp"
#include "daemon/status.hpp"
#include "http/worker_bridge.hpp"

namespace trevord {

/// What every session of a server shares; the server owns it and outlives
/// its sessions' work.
struct session_context {
  const config& cfg;
  trevord::api& api;
  daemon_status& status;  // requests in flight, draining
  trevord::metrics& metrics;
  boost::asio::thread_pool& workers;    // calls that touch the database
  boost::asio::thread_pool& transfers;  // streamed uploads
  worker_bridge& bridge;
  /// Open connections (sessions alive), for TREVOR_MAX_CONNECTIONS.
  std::atomic<std::size_t> connections{0};
};

/// Serves the accepted connection `socket` (whose executor is its strand)
/// until the client or the server closes it.
void start_session(boost::asio::ip::tcp::socket socket, session_context& ctx);

}  // namespace trevord
