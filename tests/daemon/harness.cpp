#include "harness.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "daemon/log.hpp"
#include "daemon/services.hpp"

extern char** environ;

namespace trevord::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

json::value http_response::json() const {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) FAIL("not JSON (status " << status << "): " << body);
  return v;
}

std::string http_response::detail() const {
  const auto v = json();
  REQUIRE_MESSAGE(v.is_object(), body);
  const auto* d = v.as_object().if_contains("detail");
  REQUIRE_MESSAGE((d && d->is_string()), body);
  CHECK(v.as_object().at("status").as_int64() == static_cast<std::int64_t>(status));
  CHECK(headers.at("content-type") == "application/problem+json");
  return std::string(d->as_string());
}

struct http_client::impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

http_client::http_client(unsigned short port) : impl_(std::make_unique<impl>()) {
  impl_->stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

http_client::~http_client() = default;

void http_client::write_raw(std::string_view bytes) {
  asio::write(impl_->stream.socket(), asio::buffer(bytes.data(), bytes.size()));
}

std::optional<http_response> http_client::read_response() {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1ull << 32);
  beast::error_code ec;
  bhttp::read(impl_->stream, impl_->buffer, parser, ec);
  if (ec) return std::nullopt;
  auto res = parser.release();
  http_response out;
  out.status = res.result_int();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    out.headers[name] = std::string(f.value());
  }
  out.body = std::move(res.body());
  return out;
}

bool http_client::closed_within(double seconds) {
  auto& sock = impl_->stream.socket();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  sock.non_blocking(true);
  char byte;
  while (std::chrono::steady_clock::now() < deadline) {
    beast::error_code ec;
    const auto n = sock.read_some(asio::buffer(&byte, 1), ec);
    if (ec == asio::error::would_block) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (ec || n == 0) return true;  // eof or reset: closed
  }
  return false;
}

http_response http_client::send(const http_request& r) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(r.method), r.target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  if (!r.token.empty()) req.set(bhttp::field::authorization, "Bearer " + r.token);
  if (!r.content_type.empty()) req.set(bhttp::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) req.set(k, v);
  req.body() = r.body;
  req.prepare_payload();
  bhttp::write(impl_->stream, req);
  auto res = read_response();
  REQUIRE_MESSAGE(res.has_value(), "the server closed the connection without answering");
  return std::move(*res);
}

config config_from(const std::map<std::string, std::string>& vars, bool serve) {
  auto getenv = [&vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  return serve ? load_serve_config(getenv) : load_config(getenv);
}

std::string config_refusal(const std::map<std::string, std::string>& vars, bool serve) {
  try {
    config_from(vars, serve);
    return std::string();
  } catch (const trevor::error& e) {
    return std::string(e.what());
  }
}

config test_config(const std::string& storage_dir) {
  config c;
  c.env = trevor::environment::test;
  c.port = 0;
  c.threads = 2;
  c.db_pool_size = 4;
  c.dev_auth_bypass = true;
  c.storage_dir = storage_dir;
  c.drain_timeout = std::chrono::seconds(5);
  return c;
}

daemon::daemon(std::function<void(config&)> adjust,
               std::function<void(trevor::workflow_options&)> adjust_workflow) {
  set_log_level("error");
  db_ = std::make_unique<trevor::test::fresh_database>(true, 4, true);
  cfg_ = test_config(storage_.path());
  cfg_.database_url = db_->url();
  if (adjust) adjust(cfg_);
  auto options = workflow_options_of(cfg_);
  if (adjust_workflow) adjust_workflow(options);
  // A URL the adjustment changed (e.g. through a proxy) opens a pool of its own.
  if (cfg_.database_url != db_->url())
    own_db_ = std::make_unique<trevor::database>(
        trevor::database::open(cfg_.database_url, {.pool_size = cfg_.db_pool_size}));
  daemon_ = std::make_unique<trevord::daemon>(cfg_, own_db_ ? *own_db_ : db_->db(), options);
  port_ = daemon_->port();
  runner_ = std::thread([this] { daemon_->run(); });
}

daemon::~daemon() {
  daemon_->stop();
  runner_.join();
  daemon_.reset();
  own_db_.reset();
}

http_response daemon::call(const http_request& r) {
  http_client c(port_);
  return c.send(r);
}

http_response daemon::get(const std::string& target, const std::string& token) {
  return call({"GET", target, token, "", ""});
}

http_response daemon::post(const std::string& target, const std::string& token,
                           const json::value& body) {
  return call({"POST", target, token, json::serialize(body), "application/json"});
}

http_response daemon::post(const std::string& target, const std::string& token) {
  return call({"POST", target, token, "", ""});
}

http_response daemon::patch(const std::string& target, const std::string& token,
                            const json::value& body) {
  return call({"PATCH", target, token, json::serialize(body), "application/json"});
}

http_response daemon::del(const std::string& target, const std::string& token) {
  return call({"DELETE", target, token, "", ""});
}

std::string multipart(const std::string& boundary,
                      const std::vector<std::pair<std::string, std::string>>& fields,
                      const std::string& filename, const std::string& content) {
  std::string body;
  for (const auto& [k, v] : fields)
    body += fmt::format("--{}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{}\r\n",
                        boundary, k, v);
  body += fmt::format(
      "--{}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n",
      boundary, filename);
  body += content;
  body += fmt::format("\r\n--{}--\r\n", boundary);
  return body;
}

project_world::project_world(daemon& dd) : d(dd) {
  project_id = trevor::uuid::v7().str();
  auto sync = d.post(
      "/admin/projects/sync", admin,
      json::object{
          {"projects", json::array{json::object{
                           {"id", project_id}, {"name", "proj"}, {"display_name", "Project"}}}}});
  REQUIRE_MESSAGE(sync.status == 200, sync.body);
  const std::vector<std::pair<std::string, std::string>> people{{"r1", "researcher"},
                                                                {"c1", "output_checker"},
                                                                {"c2", "output_checker"},
                                                                {"s1", "senior_checker"},
                                                                {"outsider", ""}};
  for (const auto& [name, role] : people) {
    auto me = d.get("/users/me", "dev:" + name);
    REQUIRE_MESSAGE(me.status == 200, me.body);
    user_ids[name] = std::string(me.json().at("id").as_string());
    if (role.empty()) continue;
    auto m = d.post(
        "/memberships", admin,
        json::object{{"user_id", user_ids[name]}, {"project_id", project_id}, {"role", role}});
    REQUIRE_MESSAGE(m.status == 201, m.body);
  }
}

std::string project_world::draft(const std::string& title) {
  auto r = d.post("/requests", r1,
                  json::object{{"project_id", project_id},
                               {"direction", "egress"},
                               {"title", title},
                               {"description", "d"}});
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return std::string(r.json().at("id").as_string());
}

json::value project_world::upload(const std::string& request_id, const std::string& content,
                                  const std::string& filename) {
  const std::string boundary = "xXbOuNdArYXx";
  auto r = d.call({"POST", "/requests/" + request_id + "/objects", r1,
                   multipart(boundary, {{"output_type", "tabular"}, {"statbarn", "frequency"}},
                             filename, content),
                   "multipart/form-data; boundary=" + boundary});
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return r.json();
}

std::string project_world::submitted() {
  const auto id = draft();
  upload(id, "a,b\n1,2\n");
  auto r = d.post("/requests/" + id + "/submit", r1);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return id;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

std::string trevord_binary() {
  return TREVORD_BINARY;
}

process::process(const std::vector<std::string>& env) {
  static int counter = 0;
  out_ = fmt::format("/tmp/trevord-test-{}-{}.log", ::getpid(), ++counter);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  envs.emplace_back("TREVOR_PORT=0");
  for (const auto& e : env) envs.push_back(e);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string bin = trevord_binary();
  std::string serve = "serve";
  char* argv[] = {bin.data(), serve.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int rc = posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(out_);
    std::string line;
    while (std::getline(in, line)) {
      // The start-up log line: {"msg":"listening",...,"port":N,...}
      const auto port_at = line.find("\"port\":");
      if (line.find("\"msg\":\"listening\"") != std::string::npos && port_at != std::string::npos) {
        port_ = static_cast<unsigned short>(std::stoi(line.substr(port_at + 7)));
        return;
      }
    }
    if (auto rc2 = wait(0.05)) {
      std::ifstream log(out_);
      std::stringstream s;
      s << log.rdbuf();
      FAIL("trevord exited with " << *rc2 << ": " << s.str());
    }
  }
  FAIL("trevord did not start listening within 20 s");
}

process::~process() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::remove(out_.c_str());
}

void process::signal(int signo) {
  ::kill(pid_, signo);
}

std::optional<int> process::wait(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    int status = 0;
    const auto r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace trevord::test
