#pragma once
// Receivers for the notifier's tests: a real SMTP server (Debian
// python3-aiosmtpd, tests/tools/smtp-sink.py) in a child process, and an
// in-process HTTP listener (Boost.Beast) that checks each webhook's
// signature with OpenSSL on its own.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace trevor::test {

/// A free TCP port on 127.0.0.1 (bound and released).
unsigned short free_port();

/// Waits (polling every 10 ms) until `ready()` or `timeout`; returns ready().
bool wait_until(const std::function<bool()>& ready,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// One message as the SMTP server received it.
struct received_mail {
  std::string envelope_from;
  std::vector<std::string> recipients;
  std::map<std::string, std::string> headers;  // lower-case names, first occurrence
  std::string body;                            // decoded (quoted-printable), LF line ends
  std::string raw;
};

/// The SMTP server, listening on 127.0.0.1:port() while running.
class smtp_sink {
 public:
  /// Picks a free port and starts the server.
  smtp_sink();
  ~smtp_sink();
  smtp_sink(const smtp_sink&) = delete;
  smtp_sink& operator=(const smtp_sink&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const;
  /// Stops the server (the port refuses connections) / starts it again on
  /// the same port, keeping the messages received so far.
  void stop();
  void start();
  /// Every message received so far, in order.
  std::vector<received_mail> messages() const;

 private:
  std::string dir_;
  unsigned short port_ = 0;
  int pid_ = -1;
};

/// One webhook POST as the receiver saw it.
struct received_hook {
  std::string body;
  std::string timestamp;
  std::string signature;
  std::string idempotency_key;
  std::string event;
  bool signature_valid = false;
};

/// An HTTP listener on 127.0.0.1 answering every POST with `status`
/// (200 unless told otherwise), recording each.
class webhook_receiver {
 public:
  explicit webhook_receiver(std::string secret);
  ~webhook_receiver();
  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  std::string url() const;
  void answer_with(unsigned status) { status_ = status; }
  std::vector<received_hook> hooks() const;
  std::size_t count() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::atomic<unsigned> status_{200};
};

/// HMAC-SHA256 of "{timestamp}.{body}", lower-case hex (OpenSSL directly).
std::string expected_signature(const std::string& secret, const std::string& timestamp,
                               const std::string& body);

}  // namespace trevor::test
