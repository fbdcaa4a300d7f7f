#include "notify_support.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace trevor::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

unsigned short free_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) return ready();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// ------------------------------------------------------------ SMTP

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// Quoted-printable decoding (soft line breaks joined), CRLF → LF.
std::string decode_qp(const std::string& in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') continue;
    if (in[i] != '=') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 1 < in.size() && (in[i + 1] == '\r' || in[i + 1] == '\n')) {
      i += in[i + 1] == '\r' ? 2u : 1u;  // soft line break
      continue;
    }
    if (i + 2 < in.size()) {
      out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    }
  }
  return out;
}

bool port_open(unsigned short port) {
  try {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

smtp_sink::smtp_sink() {
  dir_ = (std::filesystem::temp_directory_path() /
          fmt::format("trevor-smtp-{}-{}", ::getpid(), free_port()))
             .string();
  std::filesystem::create_directories(dir_);
  port_ = free_port();
  start();
}

smtp_sink::~smtp_sink() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string smtp_sink::url() const {
  return fmt::format("smtp://127.0.0.1:{}", port_);
}

void smtp_sink::start() {
  if (pid_ > 0) return;
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string port = std::to_string(port_);
    // Quiet: the sink's "ready" and aiosmtpd's log lines are not the test's.
    std::FILE* devnull = std::fopen("/dev/null", "w");
    if (devnull) {
      ::dup2(fileno(devnull), 1);
      ::dup2(fileno(devnull), 2);
    }
    ::execl("/usr/bin/python3", "python3", TREVOR_SMTP_SINK, port.c_str(), dir_.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  REQUIRE_MESSAGE(wait_until([&] { return port_open(port_); }),
                  "the SMTP sink (python3-aiosmtpd) did not start");
}

void smtp_sink::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  wait_until([&] { return !port_open(port_); });
}

std::vector<received_mail> smtp_sink::messages() const {
  std::vector<std::pair<int, std::string>> files;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    const auto name = e.path().filename().string();
    if (e.path().extension() == ".eml") files.emplace_back(std::stoi(name), e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<received_mail> out;
  for (const auto& [n, path] : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    received_mail m;
    m.raw = text.str();
    const auto split = m.raw.find("\r\n\r\n");
    const std::string head = m.raw.substr(0, split);
    m.body = decode_qp(split == std::string::npos ? "" : m.raw.substr(split + 4));
    std::istringstream lines(head);
    std::string line, last;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
        if (!last.empty()) m.headers[last] += line;  // folded
        continue;
      }
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      const auto name = lower(line.substr(0, colon));
      auto value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (name == "x-envelope-from") m.envelope_from = value;
      if (name == "x-envelope-to") m.recipients.push_back(value);
      m.headers.try_emplace(name, value);
      last = name;
    }
    out.push_back(std::move(m));
  }
  return out;
}

// ------------------------------------------------------------ webhooks

std::string expected_signature(const std::string& secret, const std::string& timestamp,
                               const std::string& body) {
  const std::string message = timestamp + "." + body;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", mac[i]);
  return hex;
}

struct webhook_receiver::impl {
  std::string secret;
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  mutable std::mutex mutex;
  std::vector<received_hook> hooks;
  std::thread runner;
  std::atomic<unsigned>* status = nullptr;

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      serve(std::move(s));
      accept();
    });
  }

  void serve(tcp::socket s) {
    try {
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(s, buffer, req);
      received_hook h;
      h.body = req.body();
      h.timestamp = std::string(req["X-Trevor-Timestamp"]);
      h.signature = std::string(req["X-Trevor-Signature"]);
      h.idempotency_key = std::string(req["Idempotency-Key"]);
      h.event = std::string(req["X-Trevor-Event"]);
      h.signature_valid = h.signature == "v1=" + expected_signature(secret, h.timestamp, h.body);
      {
        std::lock_guard lock(mutex);
        hooks.push_back(std::move(h));
      }
      http::response<http::string_body> res{static_cast<http::status>(status->load()), 11};
      res.set(http::field::content_type, "text/plain");
      res.keep_alive(false);
      res.body() = "ok";
      res.prepare_payload();
      http::write(s, res);
      boost::system::error_code ignored;
      s.shutdown(tcp::socket::shutdown_both, ignored);
    } catch (const std::exception&) {
      // A client that went away: nothing recorded.
    }
  }
};

webhook_receiver::webhook_receiver(std::string secret) : impl_(std::make_unique<impl>()) {
  impl_->secret = std::move(secret);
  impl_->status = &status_;
  impl_->accept();
  impl_->runner = std::thread([this] { impl_->io.run(); });
}

webhook_receiver::~webhook_receiver() {
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->io.stop();
  impl_->runner.join();
}

std::string webhook_receiver::url() const {
  return fmt::format("http://127.0.0.1:{}/hooks/trevor", impl_->acceptor.local_endpoint().port());
}

std::vector<received_hook> webhook_receiver::hooks() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->hooks;
}

std::size_t webhook_receiver::count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->hooks.size();
}

}  // namespace trevor::test
