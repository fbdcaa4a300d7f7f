// Helpers for tests/bench/http_bench.sh (not a test):
//
//   http_tools bare PORT THREADS     a bare Boost.Beast server answering GET /health
//                                    with the same JSON as trevord: the ceiling
//   http_tools ready TREVORD         starts TREVORD (environment passed through) and
//                                    prints the milliseconds until /readyz answers 200,
//                                    then the daemon's pid; leaves it running
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

extern char** environ;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class bare_session : public std::enable_shared_from_this<bare_session> {
 public:
  explicit bare_session(tcp::socket s) : stream_(std::move(s)) {}
  void read() {
    req_ = {};
    http::async_read(stream_, buf_, req_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return;
                       self->answer();
                     });
  }

 private:
  void answer() {
    auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, 11);
    res->set(http::field::server, "bare");
    res->set(http::field::content_type, "application/json");
    res->keep_alive(req_.keep_alive());
    res->body() = req_.target() == "/health" ? R"({"status":"ok","version":"0.1.0"})" : "{}";
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (!ec && res->keep_alive()) self->read();
                      });
  }
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
};

void accept(tcp::acceptor& a) {
  a.async_accept(asio::make_strand(a.get_executor()), [&a](beast::error_code ec, tcp::socket s) {
    if (!ec) std::make_shared<bare_session>(std::move(s))->read();
    accept(a);
  });
}

int bare(unsigned short port, int threads) {
  asio::io_context ioc(threads);
  tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), port});
  accept(a);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  return 0;
}

bool ready_once(unsigned short port) {
  try {
    asio::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::empty_body> req{http::verb::get, "/readyz", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    return res.result() == http::status::ok;
  } catch (...) {
    return false;
  }
}

int ready(const char* trevord) {
  const char* port_text = std::getenv("TREVOR_PORT");
  if (!port_text) {
    std::fprintf(stderr, "set TREVOR_PORT\n");
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::stoi(port_text));
  const auto start = std::chrono::steady_clock::now();
  pid_t pid;
  std::string bin = trevord, serve = "serve";
  char* argv[] = {bin.data(), serve.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  if (posix_spawn(&pid, trevord, &actions, nullptr, argv, environ) != 0) return 1;
  while (!ready_once(port)) {
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(30)) return 1;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  const auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.1f %d\n", ms, static_cast<int>(pid));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "bare" && argc == 4)
    return bare(static_cast<unsigned short>(std::stoi(argv[2])), std::stoi(argv[3]));
  if (cmd == "ready" && argc == 3) return ready(argv[2]);
  std::fprintf(stderr, "usage: http_tools bare PORT THREADS | ready TREVORD\n");
  return 2;
}
