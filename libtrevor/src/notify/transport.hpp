#pragma once
// The notifier's wire (internal): an e-mail over SMTP and a webhook POST,
// both with libcurl, and the text of the messages. No database here.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "trevor/notifier.hpp"

namespace trevor::detail {

/// What a notification says, with what the message needs around it.
struct outgoing_notification {
  uuid id;
  std::string event_type;
  std::string title;
  std::string body;
  std::optional<uuid> request_id;
  std::string request_title;
  timestamp created_at;
  uuid user_id;
  std::string username;
  std::string email;
  int attempt = 1;
};

/// The result of one send: ok, or the reason it failed.
struct send_result {
  bool ok = false;
  std::string error;
};

/// Whether `address` is a plain e-mail address usable in an SMTP envelope:
/// local@domain, printable ASCII or UTF-8 without spaces, quotes, angle
/// brackets, commas or control characters, at most 254 bytes.
bool plain_address(std::string_view address) noexcept;

/// {public_url}/requests/{id} (public_url without a trailing slash).
std::string request_url(std::string_view public_url, const uuid& request_id);

/// The RFC 5322 message (CRLF line ends, quoted-printable UTF-8 text).
std::string email_message(const smtp_options& smtp, std::string_view public_url,
                          const outgoing_notification& n, timestamp now);

/// The webhook's JSON body.
std::string webhook_body(std::string_view public_url, const outgoing_notification& n);

send_result send_email(const smtp_options& smtp, const std::string& recipient,
                       const std::string& message, std::chrono::milliseconds timeout);

send_result post_webhook(const webhook_options& hook, const outgoing_notification& n,
                         const std::string& body, std::chrono::milliseconds timeout, timestamp now);

}  // namespace trevor::detail
