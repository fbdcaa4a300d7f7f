// Hostile and broken clients: oversized heads, half requests, stalled
// uploads, garbage. Never a 500, never a crash, never a stuck worker.
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "harness.hpp"

namespace trevord::test {

namespace json = boost::json;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using world = project_world;

namespace {

/// A TCP forwarder to a server (blocking, a thread per direction), which can
/// be cut: then nothing reaches the server through it any more and new
/// connections are refused — a database that went away.
class tcp_proxy {
 public:
  tcp_proxy(const std::string& host, unsigned short port)
      : upstream_(asio::ip::make_address(host), port),
        acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accepter_ = std::thread([this] {
      for (;;) {
        auto client = std::make_shared<tcp::socket>(ioc_);
        boost::system::error_code ec;
        acceptor_.accept(*client, ec);
        if (ec) return;
        auto server = std::make_shared<tcp::socket>(ioc_);
        server->connect(upstream_, ec);
        if (ec) continue;
        std::lock_guard lock(mutex_);
        if (cut_) return;
        sockets_.push_back(client);
        sockets_.push_back(server);
        pumps_.emplace_back([client, server] { pump(*client, *server); });
        pumps_.emplace_back([client, server] { pump(*server, *client); });
      }
    });
  }
  ~tcp_proxy() { cut(); }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void cut() {
    {
      std::lock_guard lock(mutex_);
      if (cut_) return;
      cut_ = true;
      ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
      for (auto& sock : sockets_) {
        boost::system::error_code ignored;
        sock->shutdown(tcp::socket::shutdown_both, ignored);
      }
    }
    accepter_.join();
    for (auto& t : pumps_) t.join();
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& sock : sockets_) sock->close(ignored);
  }

 private:
  static void pump(tcp::socket& from, tcp::socket& to) {
    std::array<char, 16384> buf;
    for (;;) {
      boost::system::error_code ec;
      const auto n = from.read_some(asio::buffer(buf), ec);
      if (ec || asio::write(to, asio::buffer(buf.data(), n), ec) != n || ec) break;
    }
    boost::system::error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::io_context ioc_;
  tcp::endpoint upstream_;
  tcp::acceptor acceptor_;
  std::thread accepter_;
  std::mutex mutex_;
  bool cut_ = false;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> pumps_;
};

}  // namespace

TEST_CASE("an oversized request head is 431 and the connection closes") {
  daemon d;
  http_client c(d.port());
  c.write_raw("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') +
              "\r\n\r\n");
  auto r = c.read_response();
  REQUIRE(r.has_value());
  CHECK(r->status == 431);
  CHECK(c.closed_within(2));
}

TEST_CASE("garbage instead of HTTP is 400, and the server carries on") {
  daemon d;
  http_client c(d.port());
  c.write_raw("HELLO THERE\r\n\r\n");
  auto r = c.read_response();
  REQUIRE(r.has_value());
  CHECK(r->status == 400);
  CHECK(d.get("/health", "").status == 200);
}

TEST_CASE("a client that sends half a head is cut off after the read timeout") {
  daemon d([](config& c) { c.read_timeout = std::chrono::seconds(1); });
  http_client c(d.port());
  c.write_raw("GET /requests HTTP/1.1\r\nHost: x\r\nAuthor");
  // Meanwhile everyone else is served.
  CHECK(d.get("/health", "").status == 200);
  CHECK(c.closed_within(3));
}

TEST_CASE("a stalled upload is cut off after the read timeout, stores nothing, holds no worker") {
  daemon d([](config& c) {
    c.read_timeout = std::chrono::seconds(1);
    c.db_pool_size = 1;  // one worker: if the stalled upload held it, nothing else would run
  });
  world w(d);
  const auto id = w.draft();
  const auto objects_before = d.database().count("SELECT COUNT(*) FROM output_objects");
  std::vector<std::unique_ptr<http_client>> stalled;
  for (int i = 0; i < 3; ++i) {
    stalled.push_back(std::make_unique<http_client>(d.port()));
    stalled.back()->write_raw(
        "POST /requests/" + id +
        "/objects?filename=a.bin&output_type=other HTTP/1.1\r\nHost: x\r\n"
        "Authorization: Bearer dev:r1\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n" +
        std::string(1000, 'x'));
  }
  // Database work goes on while the uploads hang.
  CHECK(d.get("/requests/" + id, world::r1).status == 200);
  for (auto& c : stalled) CHECK(c->closed_within(4));
  CHECK(d.database().count("SELECT COUNT(*) FROM output_objects") == objects_before);
  CHECK(w.upload(id, "fine").at("size_bytes").as_int64() == 4);
}

TEST_CASE(
    "smuggling: ambiguous framing and header fields are 400 and the body is never a request") {
  daemon d;
  // What follows each head would be answered 404 if it were read as a request.
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto body_bytes = std::to_string(smuggled.size());
  struct probe {
    std::string name;
    std::string head;  // the fields after the request line
    unsigned status;
  };
  const std::vector<probe> probes{
      {"xchunked", "Host: x\r\nTransfer-Encoding: xchunked\r\n", 400},
      {"identity", "Host: x\r\nTransfer-Encoding: identity\r\n", 400},
      {"gzip", "Host: x\r\nTransfer-Encoding: gzip\r\n", 400},
      {"chunked, identity", "Host: x\r\nTransfer-Encoding: chunked, identity\r\n", 400},
      {"gzip, chunked", "Host: x\r\nTransfer-Encoding: gzip, chunked\r\n", 501},
      {"no Host", "Content-Length: " + body_bytes + "\r\n", 400},
      {"two Hosts", "Host: x\r\nHost: y\r\n", 400},
      {"obs-fold", "Host: x\r\nX-Folded: a\r\n b\r\n", 400},
      {"obs-fold of Content-Length",
       "Host: x\r\nX-A: a\r\n\tContent-Length: " + body_bytes + "\r\n", 400},
      {"two Authorization",
       "Host: x\r\nAuthorization: Bearer dev:r1\r\nAuthorization: Bearer dev:admin:tre_admin\r\n",
       400},
      {"two Content-Length",
       "Host: x\r\nContent-Length: " + body_bytes + "\r\nContent-Length: " + body_bytes + "\r\n",
       400},
  };
  // All at once: each refused connection lingers for a moment before it closes.
  std::vector<std::unique_ptr<http_client>> clients;
  for (const auto& p : probes) {
    clients.push_back(std::make_unique<http_client>(d.port()));
    clients.back()->write_raw("GET /health HTTP/1.1\r\n" + p.head + "\r\n" + smuggled);
  }
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const auto& p = probes[i];
    auto r = clients[i]->read_response();
    REQUIRE_MESSAGE(r.has_value(), p.name);
    CHECK_MESSAGE(r->status == p.status, p.name << ": " << r->body);
    CHECK_MESSAGE(r->headers["connection"] == "close", p.name);
    // Nothing more: the connection closes without answering the smuggled request.
    CHECK_MESSAGE(!clients[i]->read_response().has_value(), p.name);
  }
  // HTTP/1.0 needs no Host; chunked alone is fine.
  http_client c10(d.port());
  c10.write_raw("GET /health HTTP/1.0\r\n\r\n");
  auto r10 = c10.read_response();
  REQUIRE(r10.has_value());
  CHECK(r10->status == 200);
  http_client chunked(d.port());
  chunked.write_raw(
      "POST /requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dev:r1\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  auto rc = chunked.read_response();
  REQUIRE(rc.has_value());
  CHECK(rc->status == 422);
  CHECK(d.get("/health", "").status == 200);
}

TEST_CASE("503s say 'database unavailable', never the driver's text (host, port, FATAL)") {
  if (!trevor::test::on_postgres()) {
    MESSAGE("a PostgreSQL server to lose: PostgreSQL runs only");
    return;
  }
  std::unique_ptr<tcp_proxy> proxy;
  std::string proxy_port;
  daemon d([&](config& c) {
    // postgresql://user:password@127.0.0.1:PORT/db?...: through the proxy.
    const auto at = c.database_url.find('@');
    const auto colon = c.database_url.find(':', at);
    const auto slash = c.database_url.find('/', at);
    REQUIRE((at != std::string::npos && colon < slash && slash != std::string::npos));
    proxy = std::make_unique<tcp_proxy>(c.database_url.substr(at + 1, colon - at - 1),
                                        static_cast<unsigned short>(std::stoi(
                                            c.database_url.substr(colon + 1, slash - colon - 1))));
    proxy_port = std::to_string(proxy->port());
    c.database_url =
        c.database_url.substr(0, at + 1) + "127.0.0.1:" + proxy_port + c.database_url.substr(slash);
  });
  world w(d);
  const auto id = w.draft();
  CHECK(d.get("/readyz", "").status == 200);
  proxy->cut();

  const auto leaks = [&](const http_response& r) {
    for (const auto& needle : std::vector<std::string>{proxy_port, "127.0.0.1", "FATAL",
                                                       "connection to server", "port", "refused"})
      if (r.body.find(needle) != std::string::npos) return needle;
    return std::string();
  };
  const auto ready = d.get("/readyz", "");
  CHECK(ready.status == 503);
  CHECK_MESSAGE(leaks(ready).empty(), ready.body);
  CHECK(ready.detail().find("database unavailable") != std::string::npos);
  for (const auto& target : std::vector<std::string>{"/requests/" + id, "/requests"}) {
    const auto r = d.get(target, world::r1);
    CHECK_MESSAGE(r.status == 503, target << " " << r.body);
    CHECK_MESSAGE(leaks(r).empty(), r.body);
    CHECK_MESSAGE(r.detail().find("database unavailable") != std::string::npos, r.body);
  }
}

TEST_CASE(
    "slow download readers hold no worker: another user's GET /requests/{id} answers at once") {
  daemon d([](config& c) { c.db_pool_size = 2; });  // two database workers
  world w(d);
  const auto id = w.draft();
  // Far larger than what the socket buffers take: a reader that does not read stalls the write.
  const auto object = w.upload(id, std::string(24 * 1024 * 1024, 'x'), "big.bin");
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  const auto content = "/requests/" + id + "/objects/" + str(object, "id") + "/content";
  constexpr int stalled_readers = 6;  // three times the workers
  std::vector<std::unique_ptr<http_client>> stalled;
  for (int i = 0; i < stalled_readers; ++i) {
    stalled.push_back(std::make_unique<http_client>(d.port()));
    stalled.back()->write_raw("GET " + content +
                              " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dev:c1\r\n\r\n");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  double worst = 0;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(d.get("/requests/" + id, world::r1).status == 200);
    worst = std::max(worst,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  MESSAGE("slowest GET /requests/{id} with " << stalled_readers
                                             << " stalled download readers: " << worst << " s");
  CHECK(worst < 1.0);
  // A reader that does read gets every byte.
  http_client reader(d.port());
  const auto whole = reader.send({"GET", content, world::c1, "", ""});
  CHECK(whole.status == 200);
  CHECK(whole.body.size() == 24u * 1024 * 1024);
}

TEST_CASE("a download slower than the minimum rate is cut off") {
  daemon d([](config& c) {
    // High, so that what the socket buffers swallow at once buys little time.
    c.transfer_min_rate = 8 * 1024 * 1024;
    c.transfer_grace = std::chrono::seconds(1);
  });
  world w(d);
  const auto id = w.draft();
  const auto object = w.upload(id, std::string(24 * 1024 * 1024, 'x'), "big.bin");
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  http_client stalled(d.port());
  stalled.write_raw("GET /requests/" + id + "/objects/" + str(object, "id") +
                    "/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dev:c1\r\n\r\n");
  // The write timeout (30 s) alone would wait for the reader for much longer.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  CHECK_FALSE(stalled.read_response().has_value());  // the body was cut short
}

namespace {
std::string upload_head(const std::string& request_id, const std::string& who, std::size_t length) {
  return "POST /requests/" + request_id +
         "/objects?filename=a.bin&output_type=other HTTP/1.1\r\nHost: x\r\n"
         "Authorization: Bearer " +
         who +
         "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(length) +
         "\r\n\r\n";
}
}  // namespace

TEST_CASE("a trickled upload is answered 408 with Retry-After once below the minimum rate") {
  daemon d([](config& c) {
    c.transfer_min_rate = 1024;
    c.transfer_grace = std::chrono::seconds(1);
  });
  world w(d);
  const auto id = w.draft();
  const auto objects_before = d.database().count("SELECT COUNT(*) FROM output_objects");
  http_client slow(d.port());
  const auto t0 = std::chrono::steady_clock::now();
  slow.write_raw(upload_head(id, world::r1, 100000) + "0123456789");
  // One byte every 200 ms: each read restarts the read timeout (30 s), never the rate.
  try {
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1800)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      slow.write_raw("x");
    }
  } catch (const std::exception&) {
  }
  auto r = slow.read_response();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE_MESSAGE(r.has_value(), "closed without an answer after " << seconds << " s");
  CHECK(r->status == 408);
  CHECK(r->headers.count("retry-after") == 1);
  CHECK(r->detail().find("TREVOR_TRANSFER_MIN_BYTES_PER_SECOND") != std::string::npos);
  CHECK(r->headers["connection"] == "close");
  MESSAGE("trickled upload answered 408 after " << seconds << " s");
  CHECK(d.database().count("SELECT COUNT(*) FROM output_objects") == objects_before);
  CHECK(w.upload(id, "fine").at("size_bytes").as_int64() == 4);
}

TEST_CASE("concurrent uploads per user are capped: 429 with Retry-After, others unaffected") {
  daemon d([](config& c) { c.max_uploads_per_user = 2; });
  world w(d);
  const auto id = w.draft();
  std::vector<std::unique_ptr<http_client>> pending;
  for (int i = 0; i < 2; ++i) {
    pending.push_back(std::make_unique<http_client>(d.port()));
    pending.back()->write_raw(upload_head(id, world::r1, 100000) + "partial");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  http_client third(d.port());
  third.write_raw(upload_head(id, world::r1, 4) + "data");
  auto r = third.read_response();
  REQUIRE(r.has_value());
  CHECK(r->status == 429);
  CHECK(r->headers.count("retry-after") == 1);
  CHECK(r->detail().find("TREVOR_MAX_UPLOADS_PER_USER") != std::string::npos);
  // Another user is not counted against r1 (tre_admin may add to any DRAFT request).
  const auto other =
      d.call({"POST", "/requests/" + id + "/objects?filename=b.bin&output_type=other", world::admin,
              "data", "application/octet-stream"});
  CHECK_MESSAGE(other.status != 429, other.body);
  // Once the pending uploads are gone, r1 may upload again.
  pending.clear();
  bool uploaded = false;
  for (int i = 0; i < 40 && !uploaded; ++i) {
    const auto again =
        d.call({"POST", "/requests/" + id + "/objects?filename=c.bin&output_type=other", world::r1,
                "data", "application/octet-stream"});
    uploaded = again.status == 201 || again.status == 200;
    if (!uploaded) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(uploaded);
}

TEST_CASE(
    "TREVOR_MAX_CONNECTIONS: the excess is refused with 503 and closed; /health answers after") {
  daemon d([](config& c) { c.max_connections = 4; });
  std::vector<std::unique_ptr<http_client>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<http_client>(d.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int i = 0; i < 3; ++i) {
    http_client excess(d.port());
    auto r = excess.read_response();  // sends nothing: the refusal comes unasked
    REQUIRE(r.has_value());
    CHECK(r->status == 503);
    CHECK(r->headers["retry-after"] == "5");
    CHECK(r->headers["connection"] == "close");
    CHECK(r->detail().find("TREVOR_MAX_CONNECTIONS") != std::string::npos);
    CHECK(excess.closed_within(2));
  }
  idle.clear();
  bool healthy = false;
  for (int i = 0; i < 30 && !healthy; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    http_client c(d.port());
    c.write_raw("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto r = c.read_response();
    healthy = r && r->status == 200;
  }
  CHECK(healthy);
}

TEST_CASE("invalid UTF-8 in any text input is 422 naming the field; nothing is stored") {
  daemon d;
  world w(d);
  const auto id = w.draft();
  const auto objects_before = d.database().count("SELECT COUNT(*) FROM output_objects");
  const auto files_before = trevor::test::files_under(d.cfg().storage_dir);
  const std::string bad = "caf\xc3(\xff\xfe.csv";  // a broken sequence, then bytes never valid
  const auto upload = "/requests/" + id + "/objects";

  // The file part's filename (multipart).
  auto r = d.call({"POST", upload, world::r1,
                   multipart("b1", {{"output_type", "other"}}, bad, "a,b\n1,2\n"),
                   "multipart/form-data; boundary=b1"});
  CHECK(r.status == 422);
  CHECK(r.detail().rfind("filename:", 0) == 0);
  // A form field.
  r = d.call({"POST", upload, world::r1,
              multipart("b1", {{"output_type", "other"}, {"title", bad}}, "ok.csv", "a\n"),
              "multipart/form-data; boundary=b1"});
  CHECK(r.status == 422);
  CHECK(r.detail().rfind("title:", 0) == 0);
  // The filename as a query parameter (raw body), percent-encoded.
  r = d.call({"POST", upload + "?output_type=other&filename=caf%C3%28%FF.csv", world::r1, "a\n",
              "application/octet-stream"});
  CHECK(r.status == 422);
  CHECK(r.detail().rfind("filename:", 0) == 0);
  // Any query parameter, a path, a User-Agent.
  r = d.get("/requests?status=%FF", world::r1);
  CHECK(r.status == 422);
  CHECK(r.detail().rfind("status:", 0) == 0);
  r = d.get("/requests/%FF", world::r1);
  CHECK(r.status == 422);
  CHECK(r.detail().rfind("path:", 0) == 0);
  r = d.call({"GET", "/requests/" + id, world::r1, "", "", {{"User-Agent", "x\xff"}}});
  CHECK(r.status == 422);
  CHECK(r.detail().rfind("User-Agent:", 0) == 0);
  // JSON strings: the parser refuses invalid UTF-8 and lone surrogates (400: the body is not
  // JSON, RFC 8259 §8.1; no field can be named).
  for (const auto& body : std::vector<std::string>{"{\"title\":\"" + bad + "\"}",
                                                   std::string("{\"title\":\"\\ud800\"}")}) {
    r = d.call({"PATCH", "/requests/" + id + "/objects/" + trevor::uuid::v7().str() + "/metadata",
                world::r1, body, "application/json"});
    CHECK_MESSAGE(r.status == 400, r.body);
    CHECK(r.detail().find("not valid JSON") != std::string::npos);
  }

  CHECK(d.database().count("SELECT COUNT(*) FROM output_objects") == objects_before);
  CHECK(trevor::test::files_under(d.cfg().storage_dir) == files_before);
  // Every answer above was valid JSON (r.detail() parsed it); the request reads as JSON still.
  CHECK(d.get("/requests/" + id + "/objects", world::r1).json().as_array().empty());
}

TEST_CASE("keep-alive: many requests on one connection, answered in order") {
  daemon d;
  world w(d);
  http_client c(d.port());
  for (int i = 0; i < 20; ++i) {
    auto r = c.send({"GET", i % 2 ? "/health" : "/requests", "dev:r1", "", ""});
    CHECK(r.status == 200);
  }
  // Two requests written back to back are answered one after the other.
  c.write_raw("GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  auto a = c.read_response();
  auto b = c.read_response();
  REQUIRE((a && b));
  CHECK(a->status == 200);
  CHECK(b->status == 404);
}

TEST_CASE("fuzzed bodies and paths never produce a 5xx") {
  daemon d;
  world w(d);
  const auto id = w.submitted();
  const auto oid = std::string(
      d.get("/requests/" + id + "/objects", world::r1).json().as_array()[0].at("id").as_string());
  const std::vector<std::string> bodies{
      "",
      "null",
      "0",
      "\"s\"",
      "[]",
      "{",
      "}",
      "{\"decision\":null}",
      "{\"decision\":[1]}",
      "{\"decision\":\"approved\",\"object_decisions\":{}}",
      "{\"decision\":\"approved\",\"object_decisions\":[1]}",
      "{\"decision\":\"approved\",\"object_decisions\":[{\"object_id\":\"" + oid + "\"}]}",
      "{\"decision\":\"approved\",\"accepted_agent_findings\":\"yes\"}",
      "{\"decision\":\"approved\",\"summary\":" + std::string("\"") + std::string(30000, 'x') +
          "\"}",
      "{\"\\u0000\":1}",
      "{\"title\":\"\\ud800\"}",
      std::string(1000, '['),
      "{\"project_id\":\"" + id + "\",\"direction\":\"ingress\",\"title\":\"t\"}"};
  const std::vector<std::string> targets{"/requests",
                                         "/requests/" + id + "/reviews",
                                         "/memberships",
                                         "/admin/projects/sync",
                                         "/requests/" + id + "/submit",
                                         "/requests/" + id + "/agent-review"};
  for (const auto& t : targets)
    for (const auto& b : bodies)
      for (const auto* who : {world::r1, world::c1, world::admin}) {
        auto r = d.call({"POST", t, who, b, "application/json"});
        CHECK_MESSAGE(r.status < 500,
                      t << " " << b.substr(0, 80) << " → " << r.status << " " << r.body);
        CHECK(r.status >= 200);
      }
  for (const auto& p : std::vector<std::string>{
           "/requests/%00", "/requests/" + id + "/objects/%2e%2e", "/requests//objects",
           "/requests/" + id + "/objects/" + oid + "/content/extra", "/%", "/requests?status=%ZZ",
           "/requests?project_id=&status=", "//", "/requests/" + id + "?a=1&a=2"}) {
    auto r = d.get(p, world::c1);
    CHECK_MESSAGE(r.status < 500, p << " → " << r.status << " " << r.body);
  }
  CHECK(d.get("/health", "").status == 200);
}

}  // namespace trevord::test

namespace trevord::test {

TEST_CASE("null where a list, an object or a required value belongs is 422 naming the field") {
  daemon d;
  world w(d);
  const auto id = w.submitted();
  const auto oid = std::string(
      d.get("/requests/" + id + "/objects", world::r1).json().as_array()[0].at("id").as_string());
  const auto draft = w.draft();
  const auto draft_oid = str(w.upload(draft, "a,b\n"), "id");
  const auto events_before = d.database().count("SELECT COUNT(*) FROM audit_events");
  struct probe {
    std::string method, target, who, body, field;
  };
  const std::vector<probe> probes{
      {"POST", "/admin/projects/sync", world::admin, R"({"projects":null})", "projects"},
      {"POST", "/requests/" + id + "/reviews", world::c1,
       R"({"decision":"approved","object_decisions":null})", "object_decisions"},
      {"POST", "/requests/" + id + "/reviews", world::c1, R"({"decision":null})", "decision"},
      {"PATCH", "/requests/" + draft + "/objects/" + draft_oid + "/metadata", world::r1,
       R"({"tags":null})", "tags"},
      {"POST", "/requests", world::r1, R"({"project_id":null,"direction":"egress","title":"t"})",
       "project_id"},
      {"POST", "/requests", world::r1,
       R"({"project_id":")" + w.project_id + R"(","direction":"egress","title":null})", "title"},
      {"POST", "/memberships", world::admin,
       R"({"user_id":null,"project_id":")" + w.project_id + R"(","role":"researcher"})", "user_id"},
  };
  for (const auto& p : probes) {
    const auto r = d.call({p.method, p.target, p.who, p.body, "application/json"});
    CHECK_MESSAGE(r.status == 422, p.body << " → " << r.status << " " << r.body);
    CHECK_MESSAGE(r.detail().rfind(p.field, 0) == 0, p.body << " → " << r.body);
  }
  // Nothing was written (no review, no request, no membership, no archive, no edit).
  CHECK(d.database().count("SELECT COUNT(*) FROM audit_events") == events_before);
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "HUMAN_REVIEW");
  CHECK(!oid.empty());
}

}  // namespace trevord::test
