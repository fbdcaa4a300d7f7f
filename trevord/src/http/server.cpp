#include "http/server.hpp"

#include <algorithm>
#include <memory>

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
}  // namespace

server::server(const config& cfg, asio::io_context& io, asio::thread_pool& workers,
               trevord::api& api, daemon_status& status, trevord::metrics& metrics)
    : io_(io),
      status_(status),
      transfers_(std::max(min_transfer_threads, cfg.db_pool_size)),
      sessions_{cfg, api, status, metrics, workers, transfers_, bridge_},
      acceptor_(io) {
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
                             log(level::warning, "accept failed", {{"error", ec.message()}});
                           } else {
                             start_session(std::move(socket), sessions_);
                           }
                           accept();
                         });
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
