#pragma once
// The daemon's Prometheus metrics (text exposition format 0.0.4).
//
// Request counts and a latency histogram per (method, route, status), where
// the route is the router's pattern ("/requests/{id}"), never the raw path, so
// the number of series stays bounded. Thread-safe; recording takes a mutex
// for a map lookup and a few increments.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace trevord {

class metrics {
 public:
  /// Upper bounds of the latency histogram's buckets, in seconds.
  static constexpr std::array<double, 12> buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

  void record(const std::string& method, const std::string& route, unsigned status,
              std::chrono::microseconds duration);

  /// Figures read at scrape time, rendered as gauges.
  struct gauges {
    std::size_t pool_size = 0;
    std::size_t pool_in_use = 0;
    std::uint64_t group_commits = 0;
    std::uint64_t grouped_writes = 0;
    int in_flight = 0;
    bool draining = false;
    std::vector<std::pair<std::string, std::int64_t>> requests_by_status;
    /// The agents' queue: SUBMITTED requests, and how long the oldest has
    /// waited since it entered SUBMITTED (0 when none waits).
    std::int64_t agent_queue_length = 0;
    double agent_queue_oldest_seconds = 0;
    /// Notification deliveries in the database by channel and state.
    std::map<std::string, std::map<std::string, std::int64_t>> notification_deliveries;
  };
  std::string render(const gauges& g) const;

  /// The audit trail's sealer (daemon/audit.cpp), rendered with the rest.
  struct audit_figures {
    std::atomic<std::uint64_t> tree_size{0};
    std::atomic<std::uint64_t> checkpoints_signed{0};
    std::atomic<std::uint64_t> seal_failures{0};
  };
  audit_figures audit;
  /// The built-in agent (counted by the daemon whose worker recorded it): a
  /// review by its decision, with the names of its failing checks (one per
  /// failing check of each object); a failed attempt.
  void record_agent_review(const std::string& decision, const std::vector<std::string>& failed);
  void record_agent_attempt_failed();
  /// The notifier of this daemon: one attempt on `channel` with its outcome
  /// (delivered, failed, given_up, skipped) and, when skipped, why.
  void record_notification_attempt(const std::string& channel, const std::string& outcome,
                                   const std::string& skip_reason);

 private:
  struct series {
    std::uint64_t count = 0;
    double sum_seconds = 0;
    std::array<std::uint64_t, buckets.size()> le{};  // not cumulative
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, unsigned>, series> series_;
  std::map<std::string, std::uint64_t> agent_reviews_;         // by decision
  std::map<std::string, std::uint64_t> agent_check_failures_;  // by check
  std::uint64_t agent_failed_attempts_ = 0;
  // By channel; skipped by (channel, reason).
  std::map<std::string, std::uint64_t> notify_delivered_, notify_failed_, notify_given_up_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> notify_skipped_;

  std::string render_agent(const gauges& g) const;
  std::string render_notifications(const gauges& g) const;
};

}  // namespace trevord
