#include "server.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <future>
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
#include <boost/url/parse.hpp>

#include "api.hpp"
#include "json_io.hpp"
#include "log.hpp"
#include "multipart.hpp"
#include "trevor/error.hpp"
#include "trevor/migrate.hpp"

namespace trevord {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

// Streamed uploads and downloads run on their own threads, so that slow
// clients moving large files never hold the threads that do database work.
// They take a pooled connection only for their short transactions.
constexpr std::size_t min_transfer_threads = 4;
// Multipart framing and form fields around the file: the body limit of an
// upload is the file limit plus this much.
constexpr std::uint64_t upload_overhead_bytes = 1024 * 1024;
// Socket reads while streaming an upload.
constexpr std::size_t upload_read_bytes = 256 * 1024;
// Lingering close after a refusal that left a body unread: read and drop at
// most this much, for at most this long.
constexpr std::size_t linger_max_bytes = 8 * 1024 * 1024;
constexpr auto linger_timeout = std::chrono::seconds(2);
// How often a worker waiting for the socket checks that the server still runs.
constexpr auto stop_poll = std::chrono::milliseconds(100);

using response = http::response<http::string_body>;

response make_response(unsigned version, bool keep_alive, http::status status, std::string body,
                       std::string_view content_type, const std::string& request_id) {
  response res{status, version};
  res.set(http::field::server, "trevord");
  res.set("X-Request-Id", request_id);
  if (!body.empty() || status != http::status::no_content)
    res.set(http::field::content_type, content_type);
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

response problem(unsigned version, bool keep_alive, http::status status, std::string_view detail,
                 const std::string& request_id) {
  json::object body;
  body["type"] = "about:blank";
  body["title"] = std::string(http::obsolete_reason(status));
  body["status"] = static_cast<int>(status);
  body["detail"] = detail;
  return make_response(version, keep_alive, status, json::serialize(body),
                       "application/problem+json", request_id);
}

bool media_type_is(std::string_view content_type, std::string_view want) {
  const auto end = content_type.find(';');
  auto type = content_type.substr(0, end);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type.size() != want.size()) return false;
  for (std::size_t i = 0; i < type.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(type[i])) != want[i]) return false;
  return true;
}

}  // namespace

struct server::impl {
  config cfg;
  asio::io_context ioc;
  asio::thread_pool workers;
  asio::thread_pool transfers;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::atomic<bool> draining{false};
  std::atomic<int> in_flight{0};
  trevord::api api;

  impl(const config& c, trevor::database d, const trevor::workflow_options& options)
      : cfg(c),
        ioc(static_cast<int>(c.threads)),
        workers(c.db_pool_size),
        transfers(std::max(min_transfer_threads, c.db_pool_size)),
        acceptor(ioc),
        signals(ioc, SIGINT, SIGTERM),
        api(cfg, std::move(d), options) {
    const auto address = asio::ip::make_address(cfg.host);
    tcp::endpoint ep{address, cfg.port};
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    api.readiness = [this] { return readiness(); };
    api.server_gauges = [this] {
      metrics::gauges g;
      g.in_flight = in_flight.load();
      g.draining = draining.load();
      return g;
    };
  }

  void accept();
  void begin_drain(std::string_view why);

  // The sweeps (stuck requests, expiring links, interrupted releases) every
  // TREVOR_SWEEP_SECONDS, on a worker; each daemon sweeps, the database
  // makes sure each finding is reported once.
  asio::steady_timer sweep_timer{ioc};
  void schedule_sweep();
  void run_sweeps();

  void wait_for_in_flight(std::chrono::steady_clock::time_point deadline);

  /// Readiness: not draining, database answers, schema current.
  std::pair<bool, std::string> readiness() {
    if (draining) return {false, "draining"};
    try {
      api.db.ping();
      const auto report = trevor::migrator(api.db).status();
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

/// One connection. Reads a request's head on the I/O strand, its body (JSON)
/// or not yet (uploads), hands the call to a worker, and writes the answer
/// back on the strand. Requests on one connection are answered in order, one
/// at a time.
class session : public std::enable_shared_from_this<session>, private body_sink {
 public:
  session(tcp::socket socket, server::impl& srv) : stream_(std::move(socket)), srv_(srv) {}

  void start() { read_header(); }

 private:
  // ------------------------------------------------------------ reading
  void read_header() {
    header_.emplace();
    header_->header_limit(srv_.cfg.max_header_bytes);
    // Body limits depend on the route: checked once the head is matched.
    header_->body_limit(boost::none);
    stream_.expires_after(first_ ? srv_.cfg.read_timeout : srv_.cfg.idle_timeout);
    first_ = false;
    http::async_read_header(stream_, buffer_, *header_,
                            beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  static bool quiet_close(beast::error_code ec) {
    return ec == http::error::end_of_stream || ec == beast::error::timeout ||
           ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
           ec == asio::error::eof || ec == asio::error::broken_pipe;
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (quiet_close(ec)) return close();
    begin_request();
    if (ec) {
      const auto status = ec == http::error::header_limit
                              ? http::status::request_header_fields_too_large
                              : http::status::bad_request;
      return fail(status, fmt::format("the request could not be read: {}", ec.message()), false);
    }
    const auto& req = header_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive() && !srv_.draining;
    method_ = std::string(req.method_string());
    call_.method = req.method();
    call_.content_type = std::string(req[http::field::content_type]);
    call_.user_agent = std::string(req[http::field::user_agent]);
    {
      beast::error_code peer_ec;
      const auto peer = stream_.socket().remote_endpoint(peer_ec);
      call_.client_address = peer_ec ? std::string() : peer.address().to_string();
    }
    authorization_ = std::string(req[http::field::authorization]);
    const bool has_body =
        req.chunked() || (header_->content_length() && *header_->content_length() > 0);
    expect_continue_ = beast::iequals(req[http::field::expect], "100-continue");

    auto target = boost::urls::parse_origin_form(req.target());
    if (!target)
      return fail(http::status::bad_request, "the request target is not a path", has_body);
    const std::string path = target->path();
    for (const auto& p : target->params()) call_.query.emplace_back(p.key, p.value);

    auto m = match_route(req.method(), path);
    if (!m.found) {
      if (m.allowed.empty())
        return fail(http::status::not_found, fmt::format("no route for {} {}", method_, path),
                    has_body);
      std::string allowed;
      for (auto a : m.allowed) allowed += (allowed.empty() ? "" : ", ") + std::string(a);
      allow_ = allowed;
      return fail(http::status::method_not_allowed,
                  fmt::format("{} is not allowed on {}; use {}", method_, path, allowed), has_body);
    }
    route_ = m.found;
    route_name_ = std::string(route_->pattern);
    call_.route = route_name_;
    call_.params = std::move(m.params);
    if (srv_.in_flight.load() > static_cast<int>(srv_.cfg.max_in_flight))
      return fail(http::status::service_unavailable,
                  "too many requests in flight (TREVOR_MAX_IN_FLIGHT); retry shortly", true);

    if (route_->body == body_mode::upload) {
      const bool multipart = multipart_reader::boundary_of(call_.content_type).has_value();
      if (!multipart && !media_type_is(call_.content_type, "application/octet-stream"))
        return fail(http::status::unsupported_media_type,
                    "an upload is multipart/form-data (a \"file\" part) or "
                    "application/octet-stream (fields as query parameters)",
                    has_body);
      const std::uint64_t limit =
          static_cast<std::uint64_t>(srv_.cfg.max_upload_bytes) + upload_overhead_bytes;
      if (header_->content_length() && *header_->content_length() > limit)
        return fail(http::status::payload_too_large,
                    fmt::format("the body is larger than the upload limit of {} bytes "
                                "(TREVOR_MAX_UPLOAD_MB)",
                                srv_.cfg.max_upload_bytes),
                    true);
      upload_.emplace(std::move(*header_));
      upload_->body_limit(limit);
      buffer_.reserve(upload_read_bytes);  // socket reads of up to this size
      continue_if_expected([self = shared_from_this()] {
        asio::post(self->srv_.transfers, [self] { self->process(); });
      });
      return;
    }
    if (header_->content_length() && *header_->content_length() > srv_.cfg.max_json_body_bytes)
      return fail(http::status::payload_too_large,
                  fmt::format("the body is larger than {} bytes", srv_.cfg.max_json_body_bytes),
                  true);
    json_.emplace(std::move(*header_));
    json_->body_limit(srv_.cfg.max_json_body_bytes);  // chunked bodies
    continue_if_expected([self = shared_from_this()] {
      self->stream_.expires_after(self->srv_.cfg.read_timeout);
      http::async_read(self->stream_, self->buffer_, *self->json_,
                       beast::bind_front_handler(&session::on_body, self));
    });
  }

  /// Answers `Expect: 100-continue` before the body is read.
  template <class Next>
  void continue_if_expected(Next next) {
    if (!expect_continue_) return next();
    auto res = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, next](beast::error_code ec, std::size_t) {
                        if (ec) return self->abandon();
                        next();
                      });
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit)
      return fail(http::status::payload_too_large,
                  fmt::format("the body is larger than {} bytes", srv_.cfg.max_json_body_bytes),
                  true);
    if (quiet_close(ec)) return abandon();
    if (ec)
      return fail(http::status::bad_request,
                  fmt::format("the request could not be read: {}", ec.message()), true);
    call_.body = std::move(json_->get().body());
    if (route_->body == body_mode::json && !call_.body.empty() &&
        !media_type_is(call_.content_type, "application/json"))
      return fail(http::status::unsupported_media_type, "the body must be application/json", false);
    if (route_->runs_inline) return process();
    asio::post(srv_.workers, [self = shared_from_this()] { self->process(); });
  }

  // ------------------------------------------------ bridges for workers
  //
  // A worker streaming an upload or a download blocks on the socket through
  // these: the I/O itself runs on the session's strand with the configured
  // timeouts, and the worker waits for its completion.
  template <class Start>
  std::pair<beast::error_code, std::size_t> await_io(Start start) {
    auto done = std::make_shared<std::promise<std::pair<beast::error_code, std::size_t>>>();
    auto future = done->get_future();
    asio::post(stream_.get_executor(), [start, done]() mutable {
      start([done](beast::error_code ec, std::size_t n) { done->set_value({ec, n}); });
    });
    while (future.wait_for(stop_poll) != std::future_status::ready)
      if (srv_.ioc.stopped()) throw http_error(http::status::service_unavailable, "stopping");
    return future.get();
  }

  /// Reads body bytes into the buffer set on the parser's body until it is
  /// full or the body ends, then calls `done`: one hand-over to the waiting
  /// worker per buffer, not per socket read (strand).
  template <class Done>
  struct fill_op {
    session* self;
    std::size_t cap;
    Done done;
    void operator()(beast::error_code e, std::size_t) {
      auto& body = self->upload_->get().body();
      if (e == http::error::need_buffer) e = {};
      if (!e && body.size > 0 && !self->upload_->is_done()) {
        self->stream_.expires_after(self->srv_.cfg.read_timeout);
        return http::async_read_some(self->stream_, self->buffer_, *self->upload_,
                                     std::move(*this));
      }
      done(e, cap - body.size);
    }
  };

  /// The upload's next body bytes (worker thread).
  std::size_t pull(char* buf, std::size_t cap) {
    while (!upload_->is_done()) {
      auto [ec, n] = await_io([this, buf, cap](auto done) {
        auto& body = upload_->get().body();
        body.data = buf;
        body.size = cap;
        stream_.expires_after(srv_.cfg.read_timeout);
        http::async_read_some(stream_, buffer_, *upload_,
                              fill_op<decltype(done)>{this, cap, std::move(done)});
      });
      if (ec == http::error::need_buffer) ec = {};
      if (ec == http::error::body_limit)
        throw http_error(http::status::payload_too_large,
                         fmt::format("the body is larger than the upload limit of {} bytes "
                                     "(TREVOR_MAX_UPLOAD_MB)",
                                     srv_.cfg.max_upload_bytes));
      if (ec) {
        broken_ = true;
        throw http_error(http::status::bad_request,
                         fmt::format("the upload could not be read: {}", ec.message()));
      }
      if (n > 0) return n;
    }
    return 0;
  }

  // body_sink: a streamed answer (worker thread).
  void start(std::optional<std::uint64_t> content_length, std::string content_type,
             std::string content_disposition) override {
    streamed_.emplace(http::status::ok, version_);
    streamed_->set(http::field::server, "trevord");
    streamed_->set("X-Request-Id", request_id_);
    streamed_->set(http::field::content_type, content_type);
    streamed_->set(http::field::content_disposition, content_disposition);
    streamed_->keep_alive(keep_alive_);
    if (content_length)
      streamed_->content_length(*content_length);
    else
      streamed_->chunked(true);
    streamed_->body().data = nullptr;
    streamed_->body().more = true;
    serializer_.emplace(*streamed_);
  }

  void write(std::string_view chunk) override { write_streamed(chunk.data(), chunk.size(), true); }

  void write_streamed(const char* data, std::size_t size, bool more) {
    if (size == 0 && more) return;
    head_written_ = true;
    auto [ec, n] = await_io([this, data, size, more](auto done) {
      auto& body = streamed_->body();
      body.data = const_cast<char*>(data);
      body.size = size;
      body.more = more;
      stream_.expires_after(srv_.cfg.write_timeout);
      http::async_write(stream_, *serializer_,
                        [done](beast::error_code e, std::size_t w) { done(e, w); });
    });
    if (ec == http::error::need_buffer) return;
    if (ec) {
      broken_ = true;
      throw http_error(http::status::bad_request,
                       fmt::format("the download was interrupted: {}", ec.message()));
    }
  }

  // ---------------------------------------------------------- handling
  /// Runs on a worker (on the strand for runs_inline routes): authenticate,
  /// call the handler, answer.
  void process() {
    call_.read_body = [this](char* buf, std::size_t cap) { return pull(buf, cap); };
    call_.sink = this;
    http::status status = http::status::ok;
    std::string detail;
    reply r;
    try {
      if (route_->authenticated) {
        call_.who = srv_.api.auth.authenticate(authorization_);
        actor_ = call_.who.agent() ? call_.who.actor.agent->audit_actor()
                                   : call_.who.actor.user_id.str();
      }
      r = route_->handle(srv_.api, call_);
      status = r.status;
    } catch (const http_error& e) {
      status = e.status();
      detail = e.what();
    } catch (const trevor::error& e) {
      status = status_of(e.code());
      detail = e.what();
      if (e.code() == trevor::errc::internal)
        log(level::error, "internal error",
            {{"request_id", request_id_}, {"route", route_name_}, {"error", e.what()}});
      // Storage keys and paths are for tre_admin (and the log) only.
      if (!call_.who.actor.tre_admin && names_storage(detail)) {
        if (e.code() != trevor::errc::internal)
          log(level::warning, "storage failure",
              {{"request_id", request_id_}, {"route", route_name_}, {"error", e.what()}});
        detail = storage_failure_detail(request_id_);
      }
    } catch (const std::exception& e) {
      status = http::status::internal_server_error;
      log(level::error, "unexpected exception",
          {{"request_id", request_id_}, {"route", route_name_}, {"error", e.what()}});
      detail = fmt::format("internal error (request id {})", request_id_);
    }
    // An upload not read to its end leaves bytes on the connection.
    if (upload_ && !upload_->is_done()) {
      keep_alive_ = false;
      linger_ = !broken_;
    }
    const bool failed =
        !detail.empty() || (r.streamed == false && status >= http::status::bad_request);
    if (r.streamed && detail.empty()) {
      try {
        write_streamed(nullptr, 0, false);
      } catch (const http_error&) {
      }
      return asio::post(stream_.get_executor(),
                        [self = shared_from_this()] { self->finished(http::status::ok); });
    }
    if (head_written_) {
      // A failure in the middle of a download: the client sees a short body.
      broken_ = true;
      return asio::post(stream_.get_executor(),
                        [self = shared_from_this(), status] { self->finished(status); });
    }
    response res = failed   ? problem(version_, keep_alive_, status, detail, request_id_)
                   : r.body ? make_response(version_, keep_alive_, status, to_text(*r.body),
                                            r.content_type, request_id_)
                            : make_response(version_, keep_alive_, status, std::move(r.text),
                                            r.content_type, request_id_);
    if (route_->runs_inline) return send(std::move(res));
    asio::post(stream_.get_executor(), [self = shared_from_this(), res = std::move(res)]() mutable {
      self->send(std::move(res));
    });
  }

  // ---------------------------------------------------------- answering
  void begin_request() {
    started_ = std::chrono::steady_clock::now();
    ++srv_.in_flight;
    counted_ = true;
    request_id_ = trevor::uuid::v7().str();
    actor_ = "-";
    route_name_ = "unmatched";
    route_ = nullptr;
    call_ = call{};
    json_.reset();
    upload_.reset();
    streamed_.reset();
    serializer_.reset();
    head_written_ = false;
    version_ = 11;
    keep_alive_ = false;
    method_ = "-";
    allow_.clear();
  }

  /// A refusal decided on the I/O thread. `body_pending`: the request's body
  /// was not read, so the connection cannot be reused.
  void fail(http::status status, const std::string& detail, bool body_pending) {
    if (body_pending) {
      keep_alive_ = false;
      linger_ = true;
    }
    auto res = problem(version_, keep_alive_, status, detail, request_id_);
    if (!allow_.empty()) res.set(http::field::allow, allow_);
    send(std::move(res));
  }

  void send(response res) {
    auto sp = std::make_shared<response>(std::move(res));
    stream_.expires_after(srv_.cfg.write_timeout);
    http::async_write(stream_, *sp,
                      [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
                        if (ec) self->broken_ = true;
                        self->finished(sp->result());
                      });
  }

  /// Logs and counts the request, then reads the next one or closes.
  void finished(http::status status) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started_);
    srv_.api.metrics.record(method_, route_name_, static_cast<unsigned>(status), us);
    log(level::info, "request",
        {{"request_id", request_id_},
         {"method", method_},
         {"route", route_name_},
         {"status", static_cast<int>(status)},
         {"duration_us", us.count()},
         {"actor", actor_}});
    if (counted_) {
      --srv_.in_flight;
      counted_ = false;
    }
    if (broken_ || !keep_alive_ || srv_.draining) return close();
    read_header();
  }

  /// The client went away mid-request.
  void abandon() {
    broken_ = true;
    if (counted_) {
      --srv_.in_flight;
      counted_ = false;
    }
    close();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (linger_ && !broken_) return linger(0);
    stream_.close();
  }

  /// After refusing a request whose body was not read: keep reading (and
  /// dropping) what the client still sends for a moment, so that closing does
  /// not reset the connection before the client has read the refusal.
  void linger(std::size_t drained) {
    if (drained > linger_max_bytes) return stream_.close();
    stream_.expires_after(linger_timeout);
    stream_.async_read_some(asio::buffer(scratch_), [self = shared_from_this(), drained](
                                                        beast::error_code ec, std::size_t n) {
      if (ec) return self->stream_.close();
      self->linger(drained + n);
    });
  }

  beast::tcp_stream stream_;
  server::impl& srv_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_;
  std::optional<http::request_parser<http::string_body>> json_;
  std::optional<http::request_parser<http::buffer_body>> upload_;
  std::optional<http::response<http::buffer_body>> streamed_;
  std::optional<http::response_serializer<http::buffer_body>> serializer_;

  const route* route_ = nullptr;
  call call_;
  std::string authorization_;
  std::string method_ = "-";
  std::string route_name_ = "unmatched";
  std::string request_id_;
  std::string actor_ = "-";
  std::string allow_;  // a 405's Allow header
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_written_ = false;
  bool expect_continue_ = false;
  bool linger_ = false;
  std::array<char, 16 * 1024> scratch_{};
  bool broken_ = false;
  bool first_ = true;
  bool counted_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
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

void server::impl::schedule_sweep() {
  if (cfg.sweep_seconds <= 0 || draining) return;
  sweep_timer.expires_after(std::chrono::seconds(cfg.sweep_seconds));
  sweep_timer.async_wait([this](beast::error_code ec) {
    if (ec || draining) return;
    asio::post(workers, [this] {
      run_sweeps();
      asio::post(ioc, [this] { schedule_sweep(); });
    });
  });
}

void server::impl::run_sweeps() {
  auto sweep = [](std::string_view name, auto&& fn) {
    try {
      const auto found = fn();
      if (!found.empty())
        log(level::info, "sweep", {{"sweep", name}, {"reported", static_cast<long>(found.size())}});
    } catch (const std::exception& e) {
      log(level::warning, "sweep failed", {{"sweep", name}, {"error", e.what()}});
    }
  };
  sweep("stuck_requests", [&] { return api.workflow.sweeps.stuck_requests(); });
  sweep("expiring_links", [&] { return api.workflow.sweeps.expiring_links(); });
  sweep("interrupted_releases", [&] { return api.workflow.sweeps.interrupted_releases(); });
}

void server::impl::begin_drain(std::string_view why) {
  if (draining.exchange(true)) return;
  log(level::info, "draining", {{"reason", why}, {"in_flight", in_flight.load()}});
  asio::post(ioc, [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
    sweep_timer.cancel();
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
    : server(cfg, std::move(db), workflow_options_of(cfg)) {}

server::server(const config& cfg, trevor::database db, const trevor::workflow_options& options)
    : impl_(std::make_unique<impl>(cfg, std::move(db), options)) {}

server::~server() {
  impl_->workers.join();
  impl_->transfers.join();
}

unsigned short server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void server::run() {
  impl_->signals.async_wait([this](beast::error_code ec, int signo) {
    if (!ec) impl_->begin_drain(signo == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  impl_->accept();
  impl_->schedule_sweep();
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < impl_->cfg.threads; ++i)
    threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
  impl_->workers.join();
  impl_->transfers.join();
  log(level::info, "stopped");
}

void server::stop() {
  impl_->begin_drain("stop requested");
}

}  // namespace trevord
