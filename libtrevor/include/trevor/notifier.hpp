#pragma once
// trevor::notifier — delivers notification rows (the workflow's outbox) by
// e-mail over SMTP and by signed webhook, outside the transactions that
// wrote them. A library component: trevord runs it on its worker pool, and
// an embedding program can run it without trevord (libtrevor/README.md,
// "Notification delivery").
//
//  - Each notification is delivered once per configured channel: a row of
//    notification_deliveries per (notification, channel) holds its state
//    (pending → delivered, given_up or skipped, all final), the attempts so
//    far and when the next one is due. run_once() first adds these rows for
//    notifications of the last `max_age` that have none, then claims due
//    rows and delivers them.
//  - The claim is a lease: a conditional UPDATE (with FOR UPDATE SKIP LOCKED
//    on PostgreSQL) gives rows to one dispatcher until `lease` has passed, so
//    several notifiers — threads, processes, daemons — never deliver a row at
//    the same time. The claim commits before anything is sent; each attempt
//    is then recorded in a short transaction of its own. No transaction is
//    open while a message is on the wire.
//  - At least once: a notifier that dies after sending but before recording
//    leaves the row claimed; once the lease expires another notifier sends it
//    again (the webhook carries the notification id as its idempotency key).
//  - Every attempt is a row of notification_delivery_attempts (insert-only):
//    its outcome (delivered, failed, given_up, skipped) and error. A failed
//    attempt is retried after `backoff` doubled for each attempt before it
//    (at most `max_backoff`); the `max_attempts`-th failure gives up.
//  - E-mail goes to the address from the user's identity claims; a user
//    without one (or with one that is not an address, or deactivated) is
//    skipped. The message names the request, what happened and the
//    request's URL (public_url); it never carries file contents.
//
// Thread-safe: run_once() may be called from several threads at once.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trevor/actor.hpp"
#include "trevor/database.hpp"
#include "trevor/export.hpp"
#include "trevor/time.hpp"
#include "trevor/uuid.hpp"

namespace trevor {

enum class notify_channel { email, webhook };
TREVOR_EXPORT std::string_view to_string(notify_channel c) noexcept;
/// "email" or "webhook"; nullopt for anything else.
TREVOR_EXPORT std::optional<notify_channel> parse_notify_channel(std::string_view text) noexcept;

/// A delivery's state (notification_deliveries.state).
enum class delivery_state { pending, delivered, given_up, skipped };
TREVOR_EXPORT std::string_view to_string(delivery_state s) noexcept;
TREVOR_EXPORT std::optional<delivery_state> parse_delivery_state(std::string_view text) noexcept;

/// An attempt's outcome (notification_delivery_attempts.outcome): given_up is
/// a failed attempt that was the last one allowed.
enum class attempt_outcome { delivered, failed, given_up, skipped };
TREVOR_EXPORT std::string_view to_string(attempt_outcome o) noexcept;

/// How the SMTP connection is secured when the URL is smtp:// (smtps:// is
/// TLS from the first byte).
enum class smtp_tls {
  required,       // STARTTLS or no mail (the default)
  opportunistic,  // STARTTLS when the server offers it
  off             // never
};

struct smtp_options {
  /// smtp://host:port (587: submission with STARTTLS) or smtps://host:port.
  std::string url;
  /// The envelope sender and From: header, a plain address.
  std::string from;
  /// SMTP AUTH, when the user is not empty.
  std::string user;
  std::string password;
  smtp_tls tls = smtp_tls::required;
  /// Trust store for the server's certificate (empty: the system's).
  std::string ca_file;
};

struct webhook_options {
  /// http:// or https:// URL that receives a POST per notification.
  std::string url;
  /// HMAC-SHA256 key of the signature header; at least 32 bytes.
  std::string secret;
};

struct notifier_options {
  std::optional<smtp_options> email;
  std::optional<webhook_options> webhook;
  /// What request links start with (TREVOR_PUBLIC_URL): the e-mail and the
  /// webhook give {public_url}/requests/{id}.
  std::string public_url = "http://127.0.0.1:8000";
  /// Attempts per notification and channel before it is given up (≥ 1).
  int max_attempts = 10;
  /// Wait after the first failed attempt; doubled after each further one.
  std::chrono::milliseconds backoff{30'000};
  std::chrono::milliseconds max_backoff{3'600'000};
  /// One attempt's limit (connect, send, answer).
  std::chrono::milliseconds timeout{30'000};
  /// How long a claim holds; 0: rows claimed × timeout + 60 s.
  std::chrono::milliseconds lease{0};
  /// Only notifications younger than this get delivery rows (a channel
  /// configured today does not deliver last year's notifications).
  std::chrono::hours max_age{24};
  /// This notifier's name in claims and attempts (default: host:pid:random).
  std::string name;
};

/// One attempt, as run_once() made it.
struct delivery_attempt {
  uuid notification_id;
  notify_channel channel = notify_channel::email;
  int attempt = 0;
  attempt_outcome outcome = attempt_outcome::failed;
  std::string error;
  /// Why an e-mail was skipped: "no_address", "invalid_address",
  /// "inactive"; empty otherwise.
  std::string skip_reason;
  std::chrono::milliseconds duration{0};
};

/// A delivery in the admin read model.
struct notification_delivery {
  uuid notification_id;
  notify_channel channel = notify_channel::email;
  delivery_state state = delivery_state::pending;
  int attempts = 0;
  timestamp next_attempt_at;
  std::string last_error;
  timestamp created_at;
  timestamp updated_at;
  // The notification.
  uuid user_id;
  std::string username;
  std::string event_type;
  std::string title;
  std::optional<uuid> request_id;
  timestamp notification_created_at;
};

struct delivery_query {
  /// Empty: pending and given_up (what needs an operator's eye).
  std::vector<delivery_state> states;
  std::optional<notify_channel> channel;
  std::size_t limit = 50;  // 1..500
  std::size_t offset = 0;
};

struct delivery_page {
  std::vector<notification_delivery> items;
  std::int64_t total = 0;
  /// Rows by channel and state, every state listed (zeros included).
  std::map<std::string, std::map<std::string, std::int64_t>> counts;
};

inline constexpr std::size_t max_delivery_page = 500;

class TREVOR_EXPORT notifier {
 public:
  /// Throws invalid_argument for unusable options (a URL of the wrong
  /// scheme, a short webhook secret, max_attempts < 1, …), naming the field.
  notifier(database db, notifier_options options);
  ~notifier();
  notifier(const notifier&) = delete;
  notifier& operator=(const notifier&) = delete;

  /// Whether any channel is configured (otherwise run_once() does nothing).
  bool enabled() const noexcept;
  const notifier_options& options() const noexcept;

  /// Adds the missing delivery rows, claims up to `limit` due ones and
  /// delivers them one after the other; returns every attempt made.
  std::vector<delivery_attempt> run_once(std::size_t limit = 16);

  /// The admin read model (tre_admin and auditors; forbidden otherwise):
  /// deliveries of the states asked for, oldest due first, and the counts.
  delivery_page deliveries(const actor& who, const delivery_query& q) const;

  /// Deliveries by channel and state, every one listed (for metrics; no
  /// actor: counts only).
  std::map<std::string, std::map<std::string, std::int64_t>> counts() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// Whether `address` is a plain e-mail address (local@domain, no spaces,
/// quotes, angle brackets or control characters, at most 254 bytes): what
/// the notifier sends to and accepts as its sender.
TREVOR_EXPORT bool is_plain_email_address(std::string_view address) noexcept;

/// The webhook signature: lower-case hex HMAC-SHA256 of
/// "{timestamp}.{body}" with `secret` (the X-Trevor-Signature header is
/// "v1=" followed by it; the timestamp is X-Trevor-Timestamp, Unix seconds).
TREVOR_EXPORT std::string webhook_signature(std::string_view secret, std::string_view timestamp,
                                            std::string_view body);

}  // namespace trevor
