#include "server.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include "log.hpp"
#include "trevor/error.hpp"
#include "trevor/migrate.hpp"
#include "trevor/version.hpp"

namespace trevord {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

// Limits, each with its reason.
// Request headers: a bearer JWT with many roles is a few KiB; 16 KiB leaves room.
constexpr std::uint32_t max_header_bytes = 16 * 1024;
// JSON bodies: the largest legitimate one (a review with per-object feedback)
// is far below 1 MiB.
constexpr std::uint64_t max_json_body_bytes = 1024 * 1024;
// A client has this long to send a complete request, and to read the answer.
constexpr auto io_timeout = std::chrono::seconds(30);
// An idle keep-alive connection is closed after this long.
constexpr auto idle_timeout = std::chrono::seconds(60);

using response = http::response<http::string_body>;

response json_response(unsigned version, bool keep_alive, http::status status,
                       const json::value& body,
                       std::string_view content_type = "application/json") {
  response res{status, version};
  res.set(http::field::server, "trevord");
  res.set(http::field::content_type, content_type);
  res.keep_alive(keep_alive);
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

response problem(unsigned version, bool keep_alive, http::status status, std::string_view detail) {
  json::object body;
  body["type"] = "about:blank";
  body["title"] = std::string(http::obsolete_reason(status));
  body["status"] = static_cast<int>(status);
  body["detail"] = detail;
  return json_response(version, keep_alive, status, body, "application/problem+json");
}

}  // namespace

struct server::impl {
  config cfg;
  trevor::database db;
  asio::io_context ioc;
  asio::thread_pool workers;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::atomic<bool> draining{false};
  std::atomic<int> in_flight{0};

  impl(const config& c, trevor::database d)
      : cfg(c),
        db(std::move(d)),
        ioc(static_cast<int>(c.threads)),
        workers(c.db_pool_size),
        acceptor(ioc),
        signals(ioc, SIGINT, SIGTERM) {
    const auto address = asio::ip::make_address(cfg.host);
    tcp::endpoint ep{address, cfg.port};
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
  }

  void accept();
  void begin_drain(std::string_view why);
  void wait_for_in_flight(std::chrono::steady_clock::time_point deadline);

  /// Readiness: not draining, database answers, schema current.
  std::pair<bool, std::string> readiness() {
    if (draining) return {false, "draining"};
    try {
      db.ping();
      const auto report = trevor::migrator(db).status();
      if (!report.problems.empty()) return {false, report.problems.front()};
      if (!report.pending.empty())
        return {false, fmt::format("{} migration(s) pending; run `trevord migrate up`",
                                   report.pending.size())};
      return {true, ""};
    } catch (const std::exception& e) {
      return {false, e.what()};
    }
  }
};

namespace {

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, server::impl& srv) : stream_(std::move(socket)), srv_(srv) {}

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(max_json_body_bytes);
    stream_.expires_after(first_ ? io_timeout : idle_timeout);
    first_ = false;
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
      return close();
    if (ec) {
      // Malformed or over-limit requests get an answer, then the connection closes.
      const auto status =
          ec == http::error::header_limit || ec == http::error::body_limit
              ? (ec == http::error::body_limit ? http::status::payload_too_large
                                               : http::status::request_header_fields_too_large)
              : http::status::bad_request;
      return send(problem(11, false, status,
                          fmt::format("the request could not be read: {}", ec.message())),
                  "-", "-");
    }
    started_ = std::chrono::steady_clock::now();
    ++srv_.in_flight;
    counted_ = true;
    stream_.expires_after(io_timeout);
    handle(parser_->release());
  }

  void handle(http::request<http::string_body> req) {
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive() && !srv_.draining;
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const std::string method(req.method_string());
    const bool get = req.method() == http::verb::get || req.method() == http::verb::head;

    if (path == "/health" || path == "/livez") {
      if (!get)
        return send(problem(version, keep_alive, http::status::method_not_allowed, "use GET"),
                    method, path);
      json::object body{{"status", "ok"}, {"version", trevor::version}};
      return send(json_response(version, keep_alive, http::status::ok, body), method, path);
    }
    if (path == "/readyz") {
      if (!get)
        return send(problem(version, keep_alive, http::status::method_not_allowed, "use GET"),
                    method, path);
      // Database work runs on the worker pool, never on an I/O thread.
      asio::post(srv_.workers, [self = shared_from_this(), version, keep_alive, method, path] {
        auto [ready, why] = self->srv_.readiness();
        response res = ready ? json_response(version, keep_alive, http::status::ok,
                                             json::object{{"status", "ready"}})
                             : problem(version, keep_alive, http::status::service_unavailable, why);
        asio::post(self->stream_.get_executor(),
                   [self, res = std::move(res), method, path]() mutable {
                     self->send(std::move(res), method, path);
                   });
      });
      return;
    }
    send(problem(version, keep_alive, http::status::not_found,
                 fmt::format("no route for {} {}", method, path)),
         method, path);
  }

  void send(response res, const std::string& method, const std::string& route) {
    auto sp = std::make_shared<response>(std::move(res));
    http::async_write(
        stream_, *sp,
        [self = shared_from_this(), sp, method, route](beast::error_code ec, std::size_t) {
          self->on_write(ec, *sp, method, route);
        });
  }

  void on_write(beast::error_code ec, const response& res, const std::string& method,
                const std::string& route) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started_)
                        .count();
    log(level::info, "request",
        {{"method", method}, {"route", route}, {"status", res.result_int()}, {"duration_us", us}});
    if (counted_) {
      --srv_.in_flight;
      counted_ = false;
    }
    if (ec || !res.keep_alive() || srv_.draining) return close();
    read();
  }

  void close() {
    if (counted_) {
      --srv_.in_flight;
      counted_ = false;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  server::impl& srv_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool first_ = true;
  bool counted_ = false;
};

}  // namespace

void server::impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      log(level::warning, "accept failed", {{"error", ec.message()}});
    } else {
      std::make_shared<session>(std::move(socket), *this)->start();
    }
    accept();
  });
}

void server::impl::begin_drain(std::string_view why) {
  if (draining.exchange(true)) return;
  log(level::info, "draining", {{"reason", why}, {"in_flight", in_flight.load()}});
  asio::post(ioc, [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
    wait_for_in_flight(std::chrono::steady_clock::now() + cfg.drain_timeout);
  });
}

void server::impl::wait_for_in_flight(std::chrono::steady_clock::time_point deadline) {
  if (in_flight.load() == 0 || std::chrono::steady_clock::now() >= deadline) {
    if (in_flight.load() != 0)
      log(level::warning, "drain deadline passed", {{"in_flight", in_flight.load()}});
    ioc.stop();  // idle keep-alive connections are closed with the loop
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(20));
  timer->async_wait([this, timer, deadline](beast::error_code) { wait_for_in_flight(deadline); });
}

server::server(const config& cfg, trevor::database db)
    : impl_(std::make_unique<impl>(cfg, std::move(db))) {}

server::~server() {
  impl_->workers.join();
}

unsigned short server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void server::run() {
  impl_->signals.async_wait([this](beast::error_code ec, int signo) {
    if (!ec) impl_->begin_drain(signo == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  impl_->accept();
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < impl_->cfg.threads; ++i)
    threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
  impl_->workers.join();
  log(level::info, "stopped");
}

void server::stop() {
  impl_->begin_drain("stop requested");
}

}  // namespace trevord
