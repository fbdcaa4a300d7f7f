// notifier: delivers notification rows by e-mail and webhook.
#include "trevor/notifier.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "db/transaction.hpp"
#include "notify/transport.hpp"
#include "service/common.hpp"
#include "store/dashboard.hpp"
#include "store/deliveries.hpp"
#include "trevor/error.hpp"

namespace trevor {

using detail::connection;
using mode = detail::transaction::mode;

std::string_view to_string(notify_channel c) noexcept {
  return c == notify_channel::email ? "email" : "webhook";
}

std::optional<notify_channel> parse_notify_channel(std::string_view text) noexcept {
  if (text == "email") return notify_channel::email;
  if (text == "webhook") return notify_channel::webhook;
  return std::nullopt;
}

std::string_view to_string(delivery_state s) noexcept {
  switch (s) {
    case delivery_state::pending: return "pending";
    case delivery_state::delivered: return "delivered";
    case delivery_state::given_up: return "given_up";
    case delivery_state::skipped: return "skipped";
  }
  return "pending";
}

std::optional<delivery_state> parse_delivery_state(std::string_view text) noexcept {
  for (auto s : {delivery_state::pending, delivery_state::delivered, delivery_state::given_up,
                 delivery_state::skipped})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

std::string_view to_string(attempt_outcome o) noexcept {
  switch (o) {
    case attempt_outcome::delivered: return "delivered";
    case attempt_outcome::failed: return "failed";
    case attempt_outcome::given_up: return "given_up";
    case attempt_outcome::skipped: return "skipped";
  }
  return "failed";
}

namespace {

using ms = std::chrono::milliseconds;

bool http_url(std::string_view u) {
  return u.starts_with("http://") || u.starts_with("https://");
}

void check_options(const notifier_options& o) {
  if (o.email) {
    const auto& e = *o.email;
    if (!e.url.starts_with("smtp://") && !e.url.starts_with("smtps://"))
      throw error(errc::invalid_argument,
                  fmt::format("email url: '{}' is not an smtp:// or smtps:// URL", e.url));
    if (!detail::plain_address(e.from))
      throw error(errc::invalid_argument,
                  fmt::format("email from: '{}' is not a plain address (user@host)", e.from));
  }
  if (o.webhook) {
    if (!http_url(o.webhook->url))
      throw error(
          errc::invalid_argument,
          fmt::format("webhook url: '{}' is not an http:// or https:// URL", o.webhook->url));
    if (o.webhook->secret.size() < 32)
      throw error(errc::invalid_argument, "webhook secret: must be at least 32 bytes");
  }
  if ((o.email || o.webhook) && !http_url(o.public_url))
    throw error(errc::invalid_argument,
                fmt::format("public_url: '{}' is not an http:// or https:// URL", o.public_url));
  if (o.max_attempts < 1 || o.max_attempts > 1000)
    throw error(errc::invalid_argument, "max_attempts: must be from 1 to 1000");
  if (o.backoff < ms(0) || o.max_backoff < o.backoff)
    throw error(errc::invalid_argument, "backoff: must be ≥ 0 and at most max_backoff");
  if (o.timeout <= ms(0)) throw error(errc::invalid_argument, "timeout: must be positive");
  if (o.lease < ms(0)) throw error(errc::invalid_argument, "lease: must not be negative");
  if (o.max_age.count() <= 0) throw error(errc::invalid_argument, "max_age: must be positive");
}

std::map<std::string, std::map<std::string, std::int64_t>> counts_in(connection& c) {
  std::map<std::string, std::map<std::string, std::int64_t>> out;
  for (auto ch : {notify_channel::email, notify_channel::webhook})
    for (auto st : {delivery_state::pending, delivery_state::delivered, delivery_state::given_up,
                    delivery_state::skipped})
      out[std::string(to_string(ch))][std::string(to_string(st))] = 0;
  for (const auto& [ch, st, n] : detail::delivery_counts(c)) out[ch][st] = n;
  return out;
}

timestamp plus(timestamp t, ms d) {
  return timestamp(t.micros() + d.count() * 1000);
}

}  // namespace

struct notifier::state {
  database db;
  notifier_options options;

  /// The wait after the `attempt`-th failed attempt.
  ms backoff_after(int attempt) const {
    ms d = options.backoff;
    for (int i = 1; i < attempt && d < options.max_backoff; ++i) d *= 2;
    return std::min(d, options.max_backoff);
  }

  /// Sends one claimed delivery; the attempt without its record.
  delivery_attempt send(const detail::claimed_delivery& d) const;
};

delivery_attempt notifier::state::send(const detail::claimed_delivery& d) const {
  delivery_attempt a;
  a.notification_id = d.note.id;
  a.channel = d.channel;
  a.attempt = d.note.attempt;
  const auto skip = [&](std::string reason, std::string text) {
    a.outcome = attempt_outcome::skipped;
    a.skip_reason = std::move(reason);
    a.error = std::move(text);
    return a;
  };
  const auto started = std::chrono::steady_clock::now();
  const auto now = timestamp::from_sys(std::chrono::system_clock::now());
  detail::send_result r;
  try {
    if (d.channel == notify_channel::email) {
      if (!d.user_active) return skip("inactive", "the user is deactivated");
      if (d.note.email.empty()) return skip("no_address", "the user has no e-mail address");
      if (!detail::plain_address(d.note.email))
        return skip("invalid_address",
                    fmt::format("'{}' is not an e-mail address", d.note.email.substr(0, 300)));
      r = detail::send_email(*options.email, d.note.email,
                             detail::email_message(*options.email, options.public_url, d.note, now),
                             options.timeout);
    } else {
      r = detail::post_webhook(*options.webhook, d.note,
                               detail::webhook_body(options.public_url, d.note), options.timeout,
                               now);
    }
  } catch (const std::exception& e) {
    r = {false, e.what()};
  }
  a.duration = std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - started);
  if (r.ok) {
    a.outcome = attempt_outcome::delivered;
  } else {
    a.outcome =
        a.attempt >= options.max_attempts ? attempt_outcome::given_up : attempt_outcome::failed;
    a.error = std::move(r.error);
  }
  return a;
}

notifier::notifier(database db, notifier_options options) {
  check_options(options);
  if (options.name.empty()) options.name = detail::this_process();
  state_ = std::make_unique<state>(state{std::move(db), std::move(options)});
}

notifier::~notifier() = default;

bool notifier::enabled() const noexcept {
  return state_->options.email || state_->options.webhook;
}

const notifier_options& notifier::options() const noexcept {
  return state_->options;
}

std::vector<delivery_attempt> notifier::run_once(std::size_t limit) {
  auto& s = *state_;
  if (!enabled() || limit == 0) return {};
  const std::string token = s.options.name + ":" + uuid::v7().str();
  const ms lease = s.options.lease.count() > 0
                       ? s.options.lease
                       : s.options.timeout * static_cast<long>(limit) + ms(60'000);
  // The claim commits before anything is sent.
  const auto claimed = detail::run_transaction(
      s.db.impl(), mode::write, "notification delivery claim", [&](connection& c) {
        const auto now = detail::database_now(c);
        const timestamp since(
            now.micros() -
            std::chrono::duration_cast<std::chrono::microseconds>(s.options.max_age).count());
        for (auto ch : {notify_channel::email, notify_channel::webhook}) {
          const bool on = ch == notify_channel::email ? s.options.email.has_value()
                                                      : s.options.webhook.has_value();
          if (on) detail::add_missing_deliveries(c, ch, since, now, 1000);
        }
        return detail::claim_deliveries(c, s.options.email.has_value(),
                                        s.options.webhook.has_value(), token, now, plus(now, lease),
                                        static_cast<long long>(limit));
      });

  std::vector<delivery_attempt> out;
  out.reserve(claimed.size());
  for (const auto& d : claimed) {
    auto a = s.send(d);
    const delivery_state next_state =
        a.outcome == attempt_outcome::delivered  ? delivery_state::delivered
        : a.outcome == attempt_outcome::skipped  ? delivery_state::skipped
        : a.outcome == attempt_outcome::given_up ? delivery_state::given_up
                                                 : delivery_state::pending;
    detail::attempt_record rec;
    rec.id = uuid::v7();
    rec.notification_id = a.notification_id;
    rec.channel = a.channel;
    rec.attempt = a.attempt;
    rec.outcome = a.outcome;
    rec.error = a.error;
    rec.duration_ms = a.duration.count();
    rec.dispatcher = s.options.name;
    try {
      detail::run_transaction(s.db.impl(), mode::write, "notification delivery record",
                              [&](connection& c) {
                                const auto now = detail::database_now(c);
                                detail::record_attempt(c, rec, token, next_state,
                                                       plus(now, s.backoff_after(a.attempt)));
                              });
    } catch (const error&) {
      // Unrecorded: the claim expires and another run sends it again (at
      // least once). The attempt is still reported to the caller.
    }
    out.push_back(std::move(a));
  }
  return out;
}

delivery_page notifier::deliveries(const actor& who, const delivery_query& query) const {
  if (!who.oversees())
    throw error(errc::forbidden, "notification deliveries are for tre_admin and auditors only");
  if (query.limit < 1 || query.limit > max_delivery_page)
    throw error(errc::invalid_argument,
                fmt::format("limit: must be from 1 to {}", max_delivery_page));
  delivery_query q = query;
  if (q.states.empty()) q.states = {delivery_state::pending, delivery_state::given_up};
  return detail::run_transaction(state_->db.impl(), mode::read, "notification deliveries",
                                 [&](connection& c) {
                                   detail::require_active_user(c, who);
                                   delivery_page page;
                                   page.items = detail::select_deliveries(c, q);
                                   page.total = detail::count_deliveries(c, q);
                                   page.counts = counts_in(c);
                                   return page;
                                 });
}

std::map<std::string, std::map<std::string, std::int64_t>> notifier::counts() const {
  return detail::run_transaction(state_->db.impl(), mode::read, "notification delivery counts",
                                 [&](connection& c) { return counts_in(c); });
}

}  // namespace trevor
