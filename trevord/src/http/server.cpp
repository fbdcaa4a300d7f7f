#include "http/server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <string_view>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "daemon/log.hpp"

namespace trevord {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// Streamed uploads run on their own threads, so that slow clients moving
// large files never hold the threads that do database work. They take a
// pooled connection only for their short transactions.
constexpr std::size_t min_transfer_threads = 4;
// Out of file descriptors, accepting again at once fails again at once: wait
// this long first. A line in the log at most once per interval.
constexpr auto accept_backoff = std::chrono::milliseconds(100);
constexpr auto log_interval = std::chrono::seconds(10);
// Without TREVOR_MAX_CONNECTIONS: half the file limit (a connection may hold
// a second descriptor, its blob) after a reserve for the database pool, the
// listener and the logs; at most this many.
constexpr rlim_t reserved_files = 64;
constexpr std::size_t default_max_connections = 4096;

/// Raises the soft limit of open files to the hard limit; returns the limit now in force.
rlim_t raise_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    const rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) lim.rlim_cur = before;
  }
  return lim.rlim_cur;
}

std::size_t max_connections_of(const config& cfg, rlim_t files) {
  if (cfg.max_connections > 0) return cfg.max_connections;
  if (files == RLIM_INFINITY || files > reserved_files + 2 * default_max_connections)
    return default_max_connections;
  return std::max<std::size_t>(
      1,
      static_cast<std::size_t>(files > reserved_files ? (files - reserved_files) / 2 : files / 2));
}

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors ||  // EMFILE
         ec == boost::system::error_code(ENFILE, boost::system::system_category()) ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

/// What an excess connection is told before it is closed.
constexpr std::string_view too_many_connections =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/problem+json\r\n"
    "Retry-After: 5\r\n"
    "Connection: close\r\n"
    "Content-Length: 137\r\n"
    "\r\n"
    R"({"type":"about:blank","title":"Service Unavailable","status":503,)"
    R"("detail":"too many connections (TREVOR_MAX_CONNECTIONS); retry shortly"})";
}  // namespace

server::server(const config& cfg, asio::io_context& io, asio::thread_pool& workers,
               trevord::api& api, daemon_status& status, trevord::metrics& metrics)
    : io_(io),
      status_(status),
      transfers_(std::max(min_transfer_threads, cfg.db_pool_size)),
      sessions_{cfg, api, status, metrics, workers, transfers_, bridge_},
      acceptor_(io),
      max_connections_(max_connections_of(cfg, raise_file_limit())),
      backoff_(io) {
  const auto address = asio::ip::make_address(cfg.host);
  tcp::endpoint ep{address, cfg.port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

server::~server() {
  transfers_.join();
}

unsigned short server::port() const {
  return acceptor_.local_endpoint().port();
}

void server::start() {
  accept();
}

void server::accept() {
  acceptor_.async_accept(asio::make_strand(io_),
                         [this](boost::system::error_code ec, tcp::socket socket) {
                           if (ec) {
                             if (ec == asio::error::operation_aborted || !acceptor_.is_open())
                               return;
                             if (out_of_descriptors(ec)) return back_off(ec);
                             log(level::warning, "accept failed", {{"error", ec.message()}});
                           } else if (sessions_.connections.load() >= max_connections_) {
                             refuse(std::move(socket));
                           } else {
                             start_session(std::move(socket), sessions_);
                           }
                           accept();
                         });
}

void server::back_off(const boost::system::error_code& ec) {
  ++unlogged_failures_;
  const auto now = std::chrono::steady_clock::now();
  if (now - failure_logged_ >= log_interval) {
    log(level::warning, "accept failed; backing off",
        {{"error", ec.message()},
         {"failures", unlogged_failures_},
         {"connections", sessions_.connections.load()},
         {"backoff_ms", std::chrono::milliseconds(accept_backoff).count()}});
    failure_logged_ = now;
    unlogged_failures_ = 0;
  }
  backoff_.expires_after(accept_backoff);
  backoff_.async_wait([this](boost::system::error_code wait_ec) {
    if (wait_ec || !acceptor_.is_open()) return;
    accept();
  });
}

void server::refuse(tcp::socket socket) {
  ++unlogged_refusals_;
  const auto now = std::chrono::steady_clock::now();
  if (now - refusal_logged_ >= log_interval) {
    log(level::warning, "connection refused: TREVOR_MAX_CONNECTIONS reached",
        {{"max_connections", max_connections_}, {"refused", unlogged_refusals_}});
    refusal_logged_ = now;
    unlogged_refusals_ = 0;
  }
  // Never waits: what an empty send buffer takes at once, then the
  // connection is closed (what the client sent already is read first, so
  // that closing does not reset the connection under the answer).
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  std::array<char, 4096> scratch;
  socket.read_some(asio::buffer(scratch), ignored);
  socket.write_some(asio::buffer(too_many_connections), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

void server::drain(std::chrono::steady_clock::time_point deadline, std::function<void()> drained) {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  wait_for_in_flight(deadline, std::move(drained));
}

void server::wait_for_in_flight(std::chrono::steady_clock::time_point deadline,
                                std::function<void()> drained) {
  if (status_.in_flight.load() == 0 || std::chrono::steady_clock::now() >= deadline) {
    if (status_.in_flight.load() != 0)
      log(level::warning, "drain deadline passed", {{"in_flight", status_.in_flight.load()}});
    drained();
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
  timer->async_wait(
      [this, timer, deadline, drained = std::move(drained)](boost::system::error_code) mutable {
        wait_for_in_flight(deadline, std::move(drained));
      });
}

void server::io_stopped() {
  bridge_.stop();
  transfers_.join();
}

}  // namespace trevord
