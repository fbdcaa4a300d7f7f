// Hostile and broken clients: oversized heads, half requests, stalled
// uploads, garbage. Never a 500, never a crash, never a stuck worker.
#include <fmt/format.h>
#include <boost/json.hpp>

#include "harness.hpp"

namespace trevord::test {

namespace json = boost::json;
using world = project_world;

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
