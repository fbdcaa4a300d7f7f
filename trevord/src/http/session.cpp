#include "http/session.hpp"

#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "api/json_io.hpp"
#include "daemon/log.hpp"
#include "http/multipart.hpp"
#include "http/response.hpp"
#include "trevor/text.hpp"

namespace trevord {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// Multipart framing and form fields around the file: the body limit of an
// upload is the file limit plus this much.
constexpr std::uint64_t upload_overhead_bytes = 1024 * 1024;
// Socket reads while streaming an upload.
constexpr std::size_t upload_read_bytes = 256 * 1024;
// Blob reads while streaming a download on the I/O side.
constexpr std::size_t download_chunk_bytes = 256 * 1024;
// Retry-After of a 408, 429 or 503: seconds.
constexpr const char* retry_after_seconds = "5";
// Lingering close after a refusal that left a body unread: read and drop at
// most this much, for at most this long.
constexpr std::size_t linger_max_bytes = 8 * 1024 * 1024;
constexpr auto linger_timeout = std::chrono::seconds(2);

// Socket reads while waiting for a whole request head.
constexpr std::size_t head_read_bytes = 4096;

/// The head at the start of `buffered` (up to its empty line), once it has
/// arrived whole. Empty lines before the request line are skipped (RFC 9112
/// §2.2).
std::optional<std::string_view> whole_head(std::string_view buffered) {
  const auto start = buffered.find_first_not_of("\r\n");
  if (start == std::string_view::npos) return std::nullopt;
  for (auto eol = buffered.find('\n', start); eol != std::string_view::npos;
       eol = buffered.find('\n', eol + 1)) {
    auto next = eol + 1;
    if (next < buffered.size() && buffered[next] == '\r') ++next;
    if (next < buffered.size() && buffered[next] == '\n') return buffered.substr(0, next + 1);
  }
  return std::nullopt;
}

/// True when a header line of `head` continues the previous one (obs-fold).
bool has_obs_fold(std::string_view head) {
  const auto start = head.find_first_not_of("\r\n");
  for (auto eol = head.find('\n', start); eol != std::string_view::npos;
       eol = head.find('\n', eol + 1))
    if (eol + 1 < head.size() && (head[eol + 1] == ' ' || head[eol + 1] == '\t')) return true;
  return false;
}

/// Why a parsed head must be refused before anything else is decided
/// (RFC 9112): framing a peer could read differently (request smuggling) and
/// fields that must not be ambiguous. The connection is closed after it.
std::optional<std::pair<http::status, std::string>> head_refusal(
    const http::request<http::empty_body>& req, bool obs_fold) {
  using status = http::status;
  if (obs_fold)
    return {
        {status::bad_request, "a header field is folded across lines (obs-fold, RFC 9112 §5.2)"}};
  int hosts = 0, authorizations = 0, content_lengths = 0, transfer_encodings = 0;
  for (const auto& f : req) {
    switch (f.name()) {
      case http::field::host: ++hosts; break;
      case http::field::authorization: ++authorizations; break;
      case http::field::content_length: ++content_lengths; break;
      case http::field::transfer_encoding: ++transfer_encodings; break;
      default: break;
    }
  }
  if (hosts == 0 && req.version() >= 11)
    return {{status::bad_request, "Host: required in an HTTP/1.1 request (RFC 9112 §3.2)"}};
  if (hosts > 1) return {{status::bad_request, "Host: sent more than once"}};
  if (authorizations > 1) return {{status::bad_request, "Authorization: sent more than once"}};
  if (content_lengths > 1) return {{status::bad_request, "Content-Length: sent more than once"}};
  if (transfer_encodings > 0) {
    if (!req.chunked())
      return {{status::bad_request,
               "Transfer-Encoding: the final coding must be chunked (RFC 9112 §6.3)"}};
    auto te = req[http::field::transfer_encoding];
    while (!te.empty() && (te.back() == ' ' || te.back() == '\t')) te.remove_suffix(1);
    if (transfer_encodings > 1 || !beast::iequals(te, "chunked"))
      return {{status::not_implemented, "Transfer-Encoding: only chunked is supported"}};
  }
  return std::nullopt;
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

/// One connection (session.hpp). Reads a request's head on the I/O strand,
/// its body (JSON) or not yet (uploads), hands the call to a worker, and
/// writes the answer back on the strand.
class session : public std::enable_shared_from_this<session>, private body_sink {
 public:
  session(tcp::socket socket, session_context& ctx) : stream_(std::move(socket)), ctx_(ctx) {
    ++ctx_.connections;
  }
  ~session() { --ctx_.connections; }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start() { read_header(); }

 private:
  // ------------------------------------------------------------ reading
  void read_header() {
    header_.emplace();
    header_->header_limit(ctx_.cfg.max_header_bytes);
    // Body limits depend on the route: checked once the head is matched.
    header_->body_limit(boost::none);
    stream_.expires_after(first_ ? ctx_.cfg.read_timeout : ctx_.cfg.idle_timeout);
    first_ = false;
    read_head_bytes();
  }

  /// Reads until the buffer holds a whole head (or more than the head limit),
  /// so that the head can be checked as sent before it is parsed: the parser
  /// joins folded lines silently.
  void read_head_bytes() {
    const auto& data = buffer_.data();
    const std::string_view buffered(static_cast<const char*>(data.data()), data.size());
    const auto head = whole_head(buffered);
    if (head || buffered.size() > ctx_.cfg.max_header_bytes) {
      obs_fold_ = head && has_obs_fold(*head);
      http::async_read_header(stream_, buffer_, *header_,
                              beast::bind_front_handler(&session::on_header, shared_from_this()));
      return;
    }
    stream_.async_read_some(buffer_.prepare(head_read_bytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->on_header(ec, 0);
                              self->buffer_.commit(n);
                              self->read_head_bytes();
                            });
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
    if (const auto refusal = head_refusal(req, obs_fold_))
      return fail(refusal->first, refusal->second, true);
    keep_alive_ = req.keep_alive() && !ctx_.status.draining;
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
    if (!trevor::valid_utf8(path))
      return fail(http::status::unprocessable_entity, "path: is not valid UTF-8", has_body);
    for (const auto& p : target->params()) {
      // Text is checked before anything is read or stored (422 naming it).
      if (!trevor::valid_utf8(p.key))
        return fail(http::status::unprocessable_entity,
                    "a query parameter's name is not valid UTF-8", has_body);
      if (!trevor::valid_utf8(p.value))
        return fail(http::status::unprocessable_entity,
                    fmt::format("{}: is not valid UTF-8 (a query parameter)", p.key), has_body);
      call_.query.emplace_back(p.key, p.value);
    }
    if (!trevor::valid_utf8(call_.user_agent))
      return fail(http::status::unprocessable_entity, "User-Agent: is not valid UTF-8", has_body);

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
    if (ctx_.status.in_flight.load() > static_cast<int>(ctx_.cfg.max_in_flight))
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
          static_cast<std::uint64_t>(ctx_.cfg.max_upload_bytes) + upload_overhead_bytes;
      if (header_->content_length() && *header_->content_length() > limit)
        return fail(http::status::payload_too_large,
                    fmt::format("the body is larger than the upload limit of {} bytes "
                                "(TREVOR_MAX_UPLOAD_MB)",
                                ctx_.cfg.max_upload_bytes),
                    true);
      upload_.emplace(std::move(*header_));
      upload_->body_limit(limit);
      buffer_.reserve(upload_read_bytes);  // socket reads of up to this size
      continue_if_expected([self = shared_from_this()] { self->run_call(self->ctx_.transfers); });
      return;
    }
    if (header_->content_length() && *header_->content_length() > ctx_.cfg.max_json_body_bytes)
      return fail(http::status::payload_too_large,
                  fmt::format("the body is larger than {} bytes", ctx_.cfg.max_json_body_bytes),
                  true);
    json_.emplace(std::move(*header_));
    json_->body_limit(ctx_.cfg.max_json_body_bytes);  // chunked bodies
    continue_if_expected([self = shared_from_this()] {
      self->stream_.expires_after(self->ctx_.cfg.read_timeout);
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
                  fmt::format("the body is larger than {} bytes", ctx_.cfg.max_json_body_bytes),
                  true);
    if (quiet_close(ec)) return abandon();
    if (ec)
      return fail(http::status::bad_request,
                  fmt::format("the request could not be read: {}", ec.message()), true);
    call_.body = std::move(json_->get().body());
    if (route_->body == body_mode::json && !call_.body.empty() &&
        !media_type_is(call_.content_type, "application/json"))
      return fail(http::status::unsupported_media_type, "the body must be application/json", false);
    if (route_->runs_inline) return answer(process());
    run_call(ctx_.workers);
  }

  // ------------------------------------------------ bridges for workers
  //
  // A worker streaming an upload or a download blocks on the socket through
  // these: the I/O itself runs on the session's strand with the configured
  // timeouts, and the worker waits for its completion (worker_bridge).
  template <class Start>
  worker_bridge::io_result await_io(Start start) {
    auto result = ctx_.bridge.await(stream_.get_executor(), std::move(start));
    if (!result) throw http_error(http::status::service_unavailable, "stopping");
    return *result;
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
        self->stream_.expires_after(self->ctx_.cfg.read_timeout);
        self->arm_rate_timer();
        return http::async_read_some(self->stream_, self->buffer_, *self->upload_,
                                     std::move(*this));
      }
      self->rate_timer_.cancel();
      self->transferred_ += cap - body.size;
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
        stream_.expires_after(ctx_.cfg.read_timeout);
        arm_rate_timer();
        http::async_read_some(stream_, buffer_, *upload_,
                              fill_op<decltype(done)>{this, cap, std::move(done)});
      });
      if (ec == http::error::need_buffer) ec = {};
      if (ec && too_slow_)
        throw http_error(http::status::request_timeout,
                         fmt::format("the upload is slower than {} bytes per second "
                                     "(TREVOR_TRANSFER_MIN_BYTES_PER_SECOND)",
                                     ctx_.cfg.transfer_min_rate));
      if (ec == http::error::body_limit)
        throw http_error(http::status::payload_too_large,
                         fmt::format("the body is larger than the upload limit of {} bytes "
                                     "(TREVOR_MAX_UPLOAD_MB)",
                                     ctx_.cfg.max_upload_bytes));
      if (ec) {
        broken_ = true;
        throw http_error(http::status::bad_request,
                         fmt::format("the upload could not be read: {}", ec.message()));
      }
      if (n > 0) return n;
    }
    return 0;
  }

  /// When the transfer under way (an upload's body, a download) falls below
  /// the minimum rate: its grace period, plus the time its bytes so far
  /// "buy" at that rate. Starts the transfer's clock (strand).
  std::chrono::steady_clock::time_point rate_deadline() {
    const auto now = std::chrono::steady_clock::now();
    if (!transfer_started_) transfer_started_ = now;
    if (ctx_.cfg.transfer_min_rate == 0) return now + std::chrono::hours(24 * 365);
    return *transfer_started_ + ctx_.cfg.transfer_grace +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
               std::chrono::duration<double>(static_cast<double>(transferred_) /
                                             static_cast<double>(ctx_.cfg.transfer_min_rate)));
  }

  /// The deadline of one socket operation of a transfer: its own timeout, or
  /// sooner when the transfer would fall below the minimum rate (strand).
  std::chrono::steady_clock::time_point op_deadline(std::chrono::seconds timeout) {
    return std::min(std::chrono::steady_clock::now() + timeout, rate_deadline());
  }

  /// Cancels the upload's pending read once it falls below the minimum rate,
  /// so that the client is answered 408 (the stream's own timeout would
  /// close the socket instead) (strand).
  void arm_rate_timer() {
    too_slow_ = false;
    if (ctx_.cfg.transfer_min_rate == 0) return;
    rate_timer_.expires_at(rate_deadline());
    rate_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->too_slow_ = true;
      self->stream_.cancel();
    });
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

  void stream(std::optional<std::uint64_t> content_length, std::string content_type,
              std::string content_disposition, trevor::byte_reader source) override {
    start(content_length, std::move(content_type), std::move(content_disposition));
    source_ = std::move(source);
    source_length_ = content_length;
  }

  /// On the strand: writes the next bytes of `source_`, until its end. The
  /// blob is read here (local files, short reads); nothing waits on the
  /// client but the socket.
  void send_source() {
    head_written_ = true;
    if (chunk_.empty()) chunk_.resize(download_chunk_bytes);
    std::size_t n = 0;
    try {
      n = source_(chunk_.data(), chunk_.size());
    } catch (const std::exception& e) {
      log(level::error, "download failed", {{"request_id", request_id_}, {"error", e.what()}});
      broken_ = true;
      return finished(http::status::ok);
    }
    if (n == 0 && source_length_ && transferred_ != *source_length_) {
      log(level::error, "download failed",
          {{"request_id", request_id_}, {"error", "the blob is shorter than its recorded size"}});
      broken_ = true;
      return finished(http::status::ok);
    }
    auto& body = streamed_->body();
    body.data = n > 0 ? chunk_.data() : nullptr;
    body.size = n;
    body.more = n > 0;
    stream_.expires_at(op_deadline(ctx_.cfg.write_timeout));
    http::async_write(stream_, *serializer_,
                      [self = shared_from_this(), n](beast::error_code ec, std::size_t) {
                        if (ec == http::error::need_buffer) ec = {};
                        if (ec) {
                          self->broken_ = true;  // a short body: the client sees it cut
                          return self->finished(http::status::ok);
                        }
                        self->transferred_ += n;
                        if (n == 0) return self->finished(http::status::ok);
                        self->send_source();
                      });
  }

  void write_streamed(const char* data, std::size_t size, bool more) {
    if (size == 0 && more) return;
    head_written_ = true;
    auto [ec, n] = await_io([this, data, size, more](auto done) {
      auto& body = streamed_->body();
      body.data = const_cast<char*>(data);
      body.size = size;
      body.more = more;
      stream_.expires_at(op_deadline(ctx_.cfg.write_timeout));
      http::async_write(stream_, *serializer_,
                        [this, size, done](beast::error_code e, std::size_t w) {
                          transferred_ += size;
                          done(e, w);
                        });
    });
    if (ec == http::error::need_buffer) return;
    if (ec) {
      broken_ = true;
      throw http_error(http::status::bad_request,
                       fmt::format("the download was interrupted: {}", ec.message()));
    }
  }

  // ---------------------------------------------------------- handling
  /// What the strand does once a call has run: send `res`, or (a streamed
  /// answer, already written) only finish the request with `status`.
  struct answer_of_call {
    std::optional<response> res;
    http::status status = http::status::ok;
    bool from_source = false;  // a download to stream on the strand (source_)
  };

  /// Runs the call on `pool`; its answer comes back to the strand.
  void run_call(asio::thread_pool& pool) {
    worker_bridge::run_then(
        pool, stream_.get_executor(), [self = shared_from_this()] { return self->process(); },
        [self = shared_from_this()](answer_of_call a) { self->answer(std::move(a)); });
  }

  /// Runs on a worker (on the strand for runs_inline routes): the API
  /// authenticates and calls the handler; returns the answer to write.
  answer_of_call process() {
    call_.read_body = [this](char* buf, std::size_t cap) { return pull(buf, cap); };
    call_.sink = this;
    auto o = ctx_.api.dispatch(*route_, call_, authorization_, request_id_);
    actor_ = std::move(o.actor);
    const auto status = o.status;
    const auto& detail = o.detail;
    auto& r = o.r;
    // An upload not read to its end leaves bytes on the connection.
    if (upload_ && !upload_->is_done()) {
      keep_alive_ = false;
      linger_ = !broken_;
    }
    const bool failed =
        !detail.empty() || (r.streamed == false && status >= http::status::bad_request);
    if (r.streamed && detail.empty() && source_) return {std::nullopt, http::status::ok, true};
    source_ = nullptr;
    if (r.streamed && detail.empty()) {
      try {
        write_streamed(nullptr, 0, false);
      } catch (const http_error&) {
      }
      return {std::nullopt, http::status::ok};
    }
    if (head_written_) {
      // A failure in the middle of a download: the client sees a short body.
      broken_ = true;
      return {std::nullopt, status};
    }
    response res = failed   ? refusal(status, detail)
                   : r.body ? make_response(version_, keep_alive_, status, to_text(*r.body),
                                            r.content_type, request_id_)
                            : make_response(version_, keep_alive_, status, std::move(r.text),
                                            r.content_type, request_id_);
    if (!failed)
      for (const auto& [name, value] : r.headers) res.set(name, value);
    return {std::move(res), status};
  }

  /// On the strand: writes the call's answer, or finishes a streamed one.
  void answer(answer_of_call a) {
    if (a.res) return send(std::move(*a.res));
    if (a.from_source) return send_source();
    finished(a.status);
  }

  // ---------------------------------------------------------- answering
  void begin_request() {
    started_ = std::chrono::steady_clock::now();
    ++ctx_.status.in_flight;
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
    source_ = nullptr;
    source_length_.reset();
    transferred_ = 0;
    transfer_started_.reset();
    too_slow_ = false;
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
    auto res = refusal(status, detail);
    if (!allow_.empty()) res.set(http::field::allow, allow_);
    send(std::move(res));
  }

  /// A problem answer; a 408, 429 or 503 says when to retry.
  response refusal(http::status status, std::string_view detail) const {
    auto res = problem(version_, keep_alive_, status, detail, request_id_);
    if (status == http::status::request_timeout || status == http::status::too_many_requests ||
        status == http::status::service_unavailable)
      res.set(http::field::retry_after, retry_after_seconds);
    return res;
  }

  void send(response res) {
    auto sp = std::make_shared<response>(std::move(res));
    stream_.expires_after(ctx_.cfg.write_timeout);
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
    ctx_.metrics.record(method_, route_name_, static_cast<unsigned>(status), us);
    log(level::info, "request",
        {{"request_id", request_id_},
         {"method", method_},
         {"route", route_name_},
         {"status", static_cast<int>(status)},
         {"duration_us", us.count()},
         {"actor", actor_}});
    if (counted_) {
      --ctx_.status.in_flight;
      counted_ = false;
    }
    if (broken_ || !keep_alive_ || ctx_.status.draining) return close();
    read_header();
  }

  /// The client went away mid-request.
  void abandon() {
    broken_ = true;
    if (counted_) {
      --ctx_.status.in_flight;
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
  session_context& ctx_;
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
  bool obs_fold_ = false;  // the head being parsed has a folded line
  // The transfer under way (an upload's body, a download): its bytes so far,
  // its start, and the minimum rate's timer (uploads).
  std::uint64_t transferred_ = 0;
  std::optional<std::chrono::steady_clock::time_point> transfer_started_;
  asio::steady_timer rate_timer_{stream_.get_executor()};
  bool too_slow_ = false;
  // A download streamed on the strand once the call returned (stream()).
  trevor::byte_reader source_;
  std::optional<std::uint64_t> source_length_;
  std::vector<char> chunk_;
  std::array<char, 16 * 1024> scratch_{};
  bool broken_ = false;
  bool first_ = true;
  bool counted_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace

void start_session(tcp::socket socket, session_context& ctx) {
  std::make_shared<session>(std::move(socket), ctx)->start();
}

}  // namespace trevord
