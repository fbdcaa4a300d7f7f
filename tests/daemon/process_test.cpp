// trevord as a process: draining on SIGTERM, and several daemons sharing one
// database.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "harness.hpp"

namespace trevord::test {

namespace json = boost::json;
using world = project_world;

namespace {
std::vector<std::string> env_for(trevor::test::fresh_database& db, const std::string& storage) {
  return {"DATABASE_URL=" + db.url(),      "TREVOR_ENV=test",        "TREVOR_DEV_AUTH_BYPASS=true",
          "TREVOR_STORAGE_DIR=" + storage, "TREVOR_THREADS=2",       "TREVOR_DB_POOL_SIZE=4",
          "TREVOR_LOG_LEVEL=info",         "TREVOR_DRAIN_SECONDS=10"};
}
std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("SIGTERM: stop accepting, /readyz 503, finish the request in flight, exit 0") {
  trevor::test::fresh_database db(true, 4, true);
  trevor::test::temp_dir storage;
  process p(env_for(db, storage.path()));

  // Someone to upload as, and a draft to upload into.
  http_client setup(p.port());
  const auto project = trevor::uuid::v7().str();
  REQUIRE(
      setup
          .send({"POST", "/admin/projects/sync", "dev:admin:tre_admin",
                 R"({"projects":[{"id":")" + project + R"(","name":"p"}]})", "application/json"})
          .status == 200);
  const auto r1 = setup.send({"GET", "/users/me", "dev:r1", "", ""}).json();
  REQUIRE(
      setup
          .send({"POST", "/memberships", "dev:admin:tre_admin",
                 json::serialize(json::object{
                     {"user_id", r1.at("id")}, {"project_id", project}, {"role", "researcher"}}),
                 "application/json"})
          .status == 201);
  const auto request =
      setup
          .send({"POST", "/requests", "dev:r1",
                 json::serialize(json::object{
                     {"project_id", project}, {"direction", "egress"}, {"title", "t"}}),
                 "application/json"})
          .json();
  const std::string request_id(request.at("id").as_string());

  // An upload in flight: the head and half the body.
  http_client upload(p.port());
  const std::string body(200000, 'u');
  upload.write_raw("POST /requests/" + request_id +
                   "/objects?filename=slow.bin&output_type=other HTTP/1.1\r\nHost: "
                   "x\r\nAuthorization: Bearer dev:r1\r\n"
                   "Content-Type: application/octet-stream\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 100000));
  http_client keep(p.port());
  REQUIRE(keep.send({"GET", "/readyz", "", "", ""}).status == 200);
  // Wait until the server is reading the upload's body: two requests in
  // flight, the upload and the /metrics request asking. The asking is done on
  // a connection of its own: a request still finishing when the drain begins
  // has its connection closed, and `keep` must stay open (idle) for the
  // /readyz below. Seeing exactly 2 also proves keep's request has finished.
  http_client probe(p.port());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool uploading = false;
  while (!uploading && std::chrono::steady_clock::now() < deadline) {
    const auto metrics = probe.send({"GET", "/metrics", "", "", ""});
    REQUIRE(metrics.status == 200);
    uploading = metrics.body.find("\ntrevord_http_requests_in_flight 2\n") != std::string::npos;
    if (!uploading) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(uploading);

  p.signal(SIGTERM);
  // The signal is handled asynchronously: the drain has begun once its log
  // line is out. (Polling /readyz on the open connection instead would race
  // with the drain closing it after an answer.)
  bool draining = false;
  while (!draining && std::chrono::steady_clock::now() < deadline) {
    draining = read_all(p.output_path()).find("\"msg\":\"draining\"") != std::string::npos;
    if (!draining) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(draining);
  // An open connection sees /readyz answer 503; new connections are refused.
  auto ready = keep.send({"GET", "/readyz", "", "", ""});
  CHECK(ready.status == 503);
  CHECK(ready.detail() == "draining");
  bool refused = false;
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    try {
      http_client late(p.port());
      late.send({"GET", "/health", "", "", ""});
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } catch (...) {
      refused = true;
    }
  }
  CHECK(refused);
  CHECK_FALSE(p.wait(0.2).has_value());  // still finishing the upload

  upload.write_raw(body.substr(100000));
  auto done = upload.read_response();
  REQUIRE(done.has_value());
  CHECK(done->status == 201);
  CHECK(json::parse(done->body).at("size_bytes").as_int64() == 200000);
  const auto rc = p.wait(10);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  const auto log = read_all(p.output_path());
  CHECK(log.find("\"msg\":\"draining\"") != std::string::npos);
  CHECK(log.find("\"msg\":\"stopped\"") != std::string::npos);
  CHECK(db.count("SELECT COUNT(*) FROM output_objects") == 1);
}

TEST_CASE("two daemons on one database: reviews at once on different daemons, one transition") {
  // On PostgreSQL this is the production shape (stateless daemons, one
  // server); on SQLite both processes share the database file.
  trevor::test::fresh_database db(true, 4, true);
  trevor::test::temp_dir storage;
  process a(env_for(db, storage.path()));
  process b(env_for(db, storage.path()));

  http_client ca(a.port()), cb(b.port());
  const auto project = trevor::uuid::v7().str();
  REQUIRE(ca.send({"POST", "/admin/projects/sync", "dev:admin:tre_admin",
                   R"({"projects":[{"id":")" + project + R"(","name":"p"}]})", "application/json"})
              .status == 200);
  for (const auto& [name, role] : std::vector<std::pair<std::string, std::string>>{
           {"r1", "researcher"}, {"c1", "output_checker"}, {"c2", "output_checker"}}) {
    // Users are created through either daemon.
    auto& via = name == "c2" ? cb : ca;
    const auto me = via.send({"GET", "/users/me", "dev:" + name, "", ""}).json();
    REQUIRE(ca.send({"POST", "/memberships", "dev:admin:tre_admin",
                     json::serialize(json::object{
                         {"user_id", me.at("id")}, {"project_id", project}, {"role", role}}),
                     "application/json"})
                .status == 201);
  }
  constexpr int requests = 12;
  std::vector<std::string> ids;
  for (int i = 0; i < requests; ++i) {
    auto& via = i % 2 ? cb : ca;
    const auto r = via.send({"POST", "/requests", "dev:r1",
                             json::serialize(json::object{{"project_id", project},
                                                          {"direction", "egress"},
                                                          {"title", fmt::format("r{}", i)}}),
                             "application/json"})
                       .json();
    const std::string id(r.at("id").as_string());
    REQUIRE(via.send({"POST", "/requests/" + id + "/objects?filename=t.csv&output_type=tabular",
                      "dev:r1", "a,b", "application/octet-stream"})
                .status == 201);
    // Submitted through the other daemon.
    REQUIRE(
        (i % 2 ? ca : cb).send({"POST", "/requests/" + id + "/submit", "dev:r1", "", ""}).status ==
        200);
    ids.push_back(id);
  }
  // For each request, c1 reviews on daemon A and c2 on daemon B at the same moment.
  std::atomic<int> go{0};
  std::vector<unsigned> statuses_a, statuses_b;
  auto reviewer = [&](unsigned short port, const std::string& who, std::vector<unsigned>& out) {
    http_client c(port);
    ++go;
    while (go.load() < 2) std::this_thread::yield();
    for (const auto& id : ids)
      out.push_back(c.send({"POST", "/requests/" + id + "/reviews", who,
                            R"({"decision":"approved","summary":"ok"})", "application/json"})
                        .status);
  };
  std::thread ta(reviewer, a.port(), "dev:c1", std::ref(statuses_a));
  std::thread tb(reviewer, b.port(), "dev:c2", std::ref(statuses_b));
  ta.join();
  tb.join();
  for (auto s : statuses_a) CHECK(s == 201);
  for (auto s : statuses_b) CHECK(s == 201);
  for (const auto& id : ids) {
    const auto r = ca.send({"GET", "/requests/" + id, "dev:r1", "", ""}).json();
    CHECK(r.at("status").as_string() == "APPROVED");
    const auto audit = cb.send({"GET", "/requests/" + id + "/audit", "dev:r1", "", ""}).json();
    int approvals = 0, reviews = 0;
    for (const auto& e : audit.as_array()) {
      approvals += e.at("event_type").as_string() == "request.approved";
      reviews += e.at("event_type").as_string() == "review.created";
    }
    CHECK(approvals == 1);
    CHECK(reviews == 2);
  }
  CHECK(db.count("SELECT COUNT(*) FROM audit_events WHERE event_type = 'request.approved'") ==
        requests);
}

namespace {
/// CPU seconds (user + system) the process has used.
double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t count_lines(const std::string& path, std::string_view needle) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) ++n;
  return n;
}
}  // namespace

TEST_CASE("out of file descriptors: the accept loop backs off (no spin, few log lines), recovers") {
  trevor::test::fresh_database db(true, 4, true);
  trevor::test::temp_dir storage;
  auto env = env_for(db, storage.path());
  env.push_back("TREVOR_MAX_CONNECTIONS=100000");  // the cap would spare the descriptors
  process p(env);
  // The running daemon's file limit, soft and hard: a few more than it has open.
  std::size_t open_files = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(p.pid()) + "/fd"))
    ++open_files;
  const rlimit low{open_files + 6, open_files + 6};
  REQUIRE(::prlimit(p.pid(), RLIMIT_NOFILE, &low, nullptr) == 0);

  std::vector<std::unique_ptr<http_client>> idle;
  for (int i = 0; i < 60; ++i) idle.push_back(std::make_unique<http_client>(p.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double cpu0 = cpu_seconds(p.pid());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const double cpu = cpu_seconds(p.pid()) - cpu0;
  const auto lines = count_lines(p.output_path(), "accept failed");
  MESSAGE("out of descriptors for 3 s: " << cpu << " CPU s, " << lines << " log lines");
  CHECK(cpu < 0.5);
  CHECK(lines >= 1);
  CHECK(lines <= 3);

  // Once the idle connections go, everyone is served again.
  idle.clear();
  bool healthy = false;
  for (int i = 0; i < 50 && !healthy; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    http_client c(p.port());
    c.write_raw("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto r = c.read_response();
    healthy = r && r->status == 200;
  }
  CHECK(healthy);
}

}  // namespace trevord::test
