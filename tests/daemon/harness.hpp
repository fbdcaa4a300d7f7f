#pragma once
// trevord over real HTTP: a server running in this process on a free port
// (on a fresh database of the engine under test), a small blocking client,
// and trevord processes for what needs a process (signals, several daemons).

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/value.hpp>

#include "daemon/config.hpp"
#include "daemon/daemon.hpp"
#include "support.hpp"
#include "trevor/uuid.hpp"
#include "trevor/workflow.hpp"

namespace trevord::test {

struct http_response {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  boost::json::value json() const;  // parses body; fails the test when it is not JSON
  /// The problem's detail (fails the test when the body is not a problem).
  std::string detail() const;
};

struct http_request {
  std::string method = "GET";
  std::string target;
  std::string token;  // Authorization: Bearer <token> when not empty
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// One keep-alive connection to 127.0.0.1:port.
class http_client {
 public:
  explicit http_client(unsigned short port);
  ~http_client();
  http_response send(const http_request& r);
  /// Writes raw bytes (for half requests and malformed heads).
  void write_raw(std::string_view bytes);
  /// Reads one response; nullopt when the server closed the connection.
  std::optional<http_response> read_response();
  /// True when the server closed the connection within `seconds`.
  bool closed_within(double seconds);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The configuration tests start from: development, bypass on, port 0,
/// storage in `storage_dir`, quiet logs.
config test_config(const std::string& storage_dir);

/// load_config() (or, with `serve`, load_serve_config()) of an environment
/// holding exactly `vars`.
config config_from(const std::map<std::string, std::string>& vars, bool serve = false);
/// The refusal config_from() throws, "" when it accepts `vars`.
std::string config_refusal(const std::map<std::string, std::string>& vars, bool serve = false);

/// A trevord server in this process on a fresh migrated database.
class daemon {
 public:
  /// `adjust` changes the configuration (a database_url it changes is
  /// opened instead of the fresh database's); `adjust_workflow` then the
  /// workflow's options derived from it (for what the configuration cannot
  /// say, such as link lifetimes of seconds).
  explicit daemon(std::function<void(config&)> adjust = {},
                  std::function<void(trevor::workflow_options&)> adjust_workflow = {});
  ~daemon();

  unsigned short port() const { return port_; }
  trevor::test::fresh_database& database() { return *db_; }
  const config& cfg() const { return cfg_; }

  /// A request on a new connection.
  http_response call(const http_request& r);
  http_response get(const std::string& target, const std::string& token);
  http_response post(const std::string& target, const std::string& token,
                     const boost::json::value& body);
  http_response post(const std::string& target, const std::string& token);
  http_response patch(const std::string& target, const std::string& token,
                      const boost::json::value& body);
  http_response del(const std::string& target, const std::string& token);

 private:
  trevor::test::temp_dir storage_;
  std::unique_ptr<trevor::test::fresh_database> db_;
  config cfg_;
  std::unique_ptr<trevor::database> own_db_;  // when `adjust` changed database_url
  std::unique_ptr<trevord::daemon> daemon_;
  std::thread runner_;
  unsigned short port_ = 0;
};

/// A multipart/form-data body: fields in order, then the file part.
std::string multipart(const std::string& boundary,
                      const std::vector<std::pair<std::string, std::string>>& fields,
                      const std::string& filename, const std::string& content);

/// A project with researcher r1, checkers c1 and c2 (output_checker) and
/// senior s1, created over the API by `admin`.
struct project_world {
  explicit project_world(daemon& d);
  daemon& d;
  std::string project_id;
  std::map<std::string, std::string> user_ids;  // username → id
  static constexpr const char* admin = "dev:admin:tre_admin";
  static constexpr const char* r1 = "dev:r1";
  static constexpr const char* c1 = "dev:c1";
  static constexpr const char* c2 = "dev:c2";
  static constexpr const char* s1 = "dev:s1";
  static constexpr const char* outsider = "dev:outsider";

  /// A DRAFT egress request of r1; returns its id.
  std::string draft(const std::string& title = "Table 1");
  /// Uploads `content` as a multipart file to the request; returns the object.
  boost::json::value upload(const std::string& request_id, const std::string& content,
                            const std::string& filename = "table.csv");
  /// A request in HUMAN_REVIEW with one object; returns its id.
  std::string submitted();
};

/// A string member of a JSON object (fails the test when it is not one).
inline std::string str(const boost::json::value& v, std::string_view key) {
  return std::string(v.at(key).as_string());
}

/// SHA-256 of `bytes`, lower-case hex (OpenSSL, independent of libtrevor's own).
std::string sha256_hex(std::string_view bytes);

/// Path of the trevord binary (for process tests).
std::string trevord_binary();

/// A trevord process with extra environment; stopped (SIGKILL) when destroyed
/// unless it already exited.
class process {
 public:
  process(const std::vector<std::string>& env);
  ~process();
  unsigned short port() const { return port_; }
  int pid() const { return pid_; }
  void signal(int signo);
  /// Waits for the exit status; nullopt when it did not exit in time.
  std::optional<int> wait(double seconds);
  const std::string& output_path() const { return out_; }

 private:
  int pid_ = -1;
  unsigned short port_ = 0;
  std::string out_;
  bool reaped_ = false;
};

}  // namespace trevord::test
