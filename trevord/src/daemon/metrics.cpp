#include "daemon/metrics.hpp"

#include <fmt/format.h>

namespace trevord {

namespace {
/// Label values: backslash, double quote and newline escaped.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}
}  // namespace

void metrics::record(const std::string& method, const std::string& route, unsigned status,
                     std::chrono::microseconds duration) {
  const double seconds = static_cast<double>(duration.count()) / 1e6;
  std::lock_guard lock(mutex_);
  auto& s = series_[{method, route, status}];
  ++s.count;
  s.sum_seconds += seconds;
  for (std::size_t i = 0; i < buckets.size(); ++i)
    if (seconds <= buckets[i]) {
      ++s.le[i];
      break;
    }
}

std::string metrics::render(const gauges& g) const {
  std::string counts =
      "# HELP trevord_http_requests_total HTTP requests answered, by method, route and status.\n"
      "# TYPE trevord_http_requests_total counter\n";
  std::string histogram =
      "# HELP trevord_http_request_duration_seconds Time from a request's last byte read to its "
      "answer written.\n"
      "# TYPE trevord_http_request_duration_seconds histogram\n";
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, s] : series_) {
      const auto& [method, route, status] = key;
      const auto labels = fmt::format("method=\"{}\",route=\"{}\",status=\"{}\"", label(method),
                                      label(route), status);
      counts += fmt::format("trevord_http_requests_total{{{}}} {}\n", labels, s.count);
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < buckets.size(); ++i) {
        cumulative += s.le[i];
        histogram +=
            fmt::format("trevord_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                        buckets[i], cumulative);
      }
      histogram += fmt::format(
          "trevord_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n"
          "trevord_http_request_duration_seconds_sum{{{}}} {}\n"
          "trevord_http_request_duration_seconds_count{{{}}} {}\n",
          labels, s.count, labels, s.sum_seconds, labels, s.count);
    }
  }
  std::string out = counts + histogram;
  out += fmt::format(
      "# HELP trevord_db_pool_connections Connections in the database pool.\n"
      "# TYPE trevord_db_pool_connections gauge\n"
      "trevord_db_pool_connections {}\n"
      "# HELP trevord_db_pool_connections_in_use Pool connections leased out.\n"
      "# TYPE trevord_db_pool_connections_in_use gauge\n"
      "trevord_db_pool_connections_in_use {}\n"
      "# HELP trevord_db_group_commits_total SQLite: transactions committed for groups of "
      "concurrent writes.\n"
      "# TYPE trevord_db_group_commits_total counter\n"
      "trevord_db_group_commits_total {}\n"
      "# HELP trevord_db_grouped_writes_total SQLite: write transactions those groups held.\n"
      "# TYPE trevord_db_grouped_writes_total counter\n"
      "trevord_db_grouped_writes_total {}\n"
      "# HELP trevord_http_requests_in_flight Requests being processed.\n"
      "# TYPE trevord_http_requests_in_flight gauge\n"
      "trevord_http_requests_in_flight {}\n"
      "# HELP trevord_draining 1 while the daemon drains (SIGTERM).\n"
      "# TYPE trevord_draining gauge\n"
      "trevord_draining {}\n",
      g.pool_size, g.pool_in_use, g.group_commits, g.grouped_writes, g.in_flight,
      g.draining ? 1 : 0);
  out +=
      "# HELP trevor_airlock_requests Airlock requests in the database, by status.\n"
      "# TYPE trevor_airlock_requests gauge\n";
  for (const auto& [status, n] : g.requests_by_status)
    out += fmt::format("trevor_airlock_requests{{status=\"{}\"}} {}\n", status, n);
  out += fmt::format(
      "# HELP trevord_audit_tree_size Leaves of the audit trail's Merkle tree after the last "
      "seal.\n"
      "# TYPE trevord_audit_tree_size gauge\n"
      "trevord_audit_tree_size {}\n"
      "# HELP trevord_audit_checkpoints_signed_total Checkpoints this daemon signed.\n"
      "# TYPE trevord_audit_checkpoints_signed_total counter\n"
      "trevord_audit_checkpoints_signed_total {}\n"
      "# HELP trevord_audit_seal_failures_total Seals that failed or were refused (a stored "
      "tree that no longer extends the last checkpoint).\n"
      "# TYPE trevord_audit_seal_failures_total counter\n"
      "trevord_audit_seal_failures_total {}\n",
      audit.tree_size.load(), audit.checkpoints_signed.load(), audit.seal_failures.load());
  out += render_agent(g);
  out += render_notifications(g);
  return out;
}

void metrics::record_agent_review(const std::string& decision,
                                  const std::vector<std::string>& failed) {
  std::lock_guard lock(mutex_);
  ++agent_reviews_[decision];
  for (const auto& check : failed) ++agent_check_failures_[check];
}

void metrics::record_agent_attempt_failed() {
  std::lock_guard lock(mutex_);
  ++agent_failed_attempts_;
}

std::string metrics::render_agent(const gauges& g) const {
  std::string out = fmt::format(
      "# HELP trevor_agent_queue_length Requests waiting for the agent (SUBMITTED).\n"
      "# TYPE trevor_agent_queue_length gauge\n"
      "trevor_agent_queue_length {}\n"
      "# HELP trevor_agent_queue_oldest_seconds How long the oldest SUBMITTED request has "
      "waited.\n"
      "# TYPE trevor_agent_queue_oldest_seconds gauge\n"
      "trevor_agent_queue_oldest_seconds {:.3f}\n",
      g.agent_queue_length, g.agent_queue_oldest_seconds);
  std::lock_guard lock(mutex_);
  // The agent's decisions are always listed, so that rates start at zero.
  auto reviews = agent_reviews_;
  for (const char* d : {"approved", "changes_requested", "escalated"}) reviews.try_emplace(d, 0);
  out +=
      "# HELP trevor_agent_reviews_total Reviews the built-in agent of this daemon recorded, by "
      "decision.\n"
      "# TYPE trevor_agent_reviews_total counter\n";
  for (const auto& [decision, n] : reviews)
    out += fmt::format("trevor_agent_reviews_total{{decision=\"{}\"}} {}\n", label(decision), n);
  out +=
      "# HELP trevor_agent_check_failures_total Failing SDC checks in the built-in agent's "
      "reviews, by check.\n"
      "# TYPE trevor_agent_check_failures_total counter\n";
  for (const auto& [check, n] : agent_check_failures_)
    out += fmt::format("trevor_agent_check_failures_total{{check=\"{}\"}} {}\n", label(check), n);
  out += fmt::format(
      "# HELP trevor_agent_failed_attempts_total Agent review attempts that failed and were "
      "retried (or escalated).\n"
      "# TYPE trevor_agent_failed_attempts_total counter\n"
      "trevor_agent_failed_attempts_total {}\n",
      agent_failed_attempts_);
  return out;
}

void metrics::record_notification_attempt(const std::string& channel, const std::string& outcome,
                                          const std::string& skip_reason) {
  std::lock_guard lock(mutex_);
  if (outcome == "delivered") {
    ++notify_delivered_[channel];
  } else if (outcome == "skipped") {
    ++notify_skipped_[{channel, skip_reason}];
  } else {
    ++notify_failed_[channel];  // failed and given_up attempts alike
    if (outcome == "given_up") ++notify_given_up_[channel];
  }
}

std::string metrics::render_notifications(const gauges& g) const {
  std::string out =
      "# HELP trevor_notification_deliveries Notification deliveries in the database, by channel "
      "and state.\n"
      "# TYPE trevor_notification_deliveries gauge\n";
  for (const auto& [channel, states] : g.notification_deliveries)
    for (const auto& [state, n] : states)
      out += fmt::format("trevor_notification_deliveries{{channel=\"{}\",state=\"{}\"}} {}\n",
                         label(channel), label(state), n);
  std::lock_guard lock(mutex_);
  // Both channels always listed, so that rates start at zero.
  const auto per_channel = [&](const char* name, const char* help,
                               const std::map<std::string, std::uint64_t>& m) {
    auto all = m;
    for (const char* ch : {"email", "webhook"}) all.try_emplace(ch, 0);
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (const auto& [ch, n] : all)
      out += fmt::format("{}{{channel=\"{}\"}} {}\n", name, label(ch), n);
  };
  per_channel("trevord_notifications_delivered_total",
              "Notifications this daemon delivered, by channel.", notify_delivered_);
  per_channel("trevord_notification_failed_attempts_total",
              "Delivery attempts of this daemon that failed (the last ones included), by channel.",
              notify_failed_);
  per_channel("trevord_notifications_given_up_total",
              "Deliveries this daemon gave up after the last allowed attempt, by channel.",
              notify_given_up_);
  auto skipped = notify_skipped_;
  skipped.try_emplace({"email", "no_address"}, 0);
  out +=
      "# HELP trevord_notifications_skipped_total E-mails this daemon skipped, by channel and "
      "reason (no_address, invalid_address, inactive).\n"
      "# TYPE trevord_notifications_skipped_total counter\n";
  for (const auto& [key, n] : skipped)
    out += fmt::format("trevord_notifications_skipped_total{{channel=\"{}\",reason=\"{}\"}} {}\n",
                       label(key.first), label(key.second), n);
  return out;
}

}  // namespace trevord
