#include "daemon/daemon.hpp"

#include <csignal>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>

#include "api/api.hpp"
#include "daemon/audit.hpp"
#include "daemon/background.hpp"
#include "daemon/log.hpp"
#include "daemon/metrics.hpp"
#include "daemon/services.hpp"
#include "daemon/status.hpp"
#include "http/server.hpp"

namespace trevord {

namespace asio = boost::asio;

namespace {

/// The names of the failing checks in the built-in agent's findings, once
/// per failing check of each object.
std::vector<std::string> failing_checks(const std::string& findings_json) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  const auto v = boost::json::parse(findings_json, ec);
  if (ec || !v.is_object()) return out;
  const auto* objects = v.as_object().if_contains("objects");
  if (!objects || !objects->is_array()) return out;
  for (const auto& o : objects->as_array()) {
    const auto* checks = o.is_object() ? o.as_object().if_contains("checks") : nullptr;
    if (!checks || !checks->is_array()) continue;
    for (const auto& c : checks->as_array()) {
      if (!c.is_object()) continue;
      const auto* st = c.as_object().if_contains("status");
      const auto* name = c.as_object().if_contains("check");
      if (st && st->is_string() && st->as_string() == "fail" && name && name->is_string())
        out.emplace_back(name->as_string());
    }
  }
  return out;
}

}  // namespace

struct daemon::impl {
  // Declared in the order they are built; each uses only those above it.
  config cfg;
  daemon_status status;
  trevord::metrics metrics;
  services svc;
  trevord::api api;
  asio::io_context ioc;
  asio::thread_pool workers;  // database work: handlers and background jobs
  trevord::server server;
  background jobs;
  asio::signal_set signals;

  impl(const config& c, trevor::database db, const trevor::workflow_options& options)
      : cfg(c),
        status(db),
        svc(cfg, std::move(db), options),
        api(cfg, svc, metrics, status),
        ioc(static_cast<int>(cfg.threads)),
        workers(cfg.db_pool_size),
        server(cfg, ioc, workers, api, status, metrics),
        jobs(ioc, workers),
        signals(ioc, SIGINT, SIGTERM) {
    // The sweeps (stuck requests, expiring links, interrupted releases)
    // every TREVOR_SWEEP_SECONDS; each daemon sweeps, the database makes
    // sure each finding is reported once.
    jobs.every("sweeps", std::chrono::seconds(cfg.sweep_seconds), [this] { run_sweeps(); });
    // The audit trail's sealer every TREVOR_AUDIT_SEAL_SECONDS; every daemon
    // runs it, one at a time seals (the library's lock).
    jobs.every("audit_seal", std::chrono::seconds(cfg.audit_seal_seconds),
               [this] { seal_audit_trail(*svc.audit, metrics); });
    start_builtin_agent();
    start_notifier();
    // The blob store against the database every hour: orphans and
    // interrupted uploads older than an hour are removed, missing files
    // logged (trevord storage check does the same by hand).
    jobs.every("storage", std::chrono::hours(1), [this] { run_storage_check(); });
    // Release scratch files a stopped process left behind, at start too.
    remove_stale_scratch();
  }

  void run_storage_check();
  void remove_stale_scratch();

  void run_sweeps();
  void start_notifier();
  void run_notifier();
  void start_builtin_agent();
  void run_agent();
  void begin_drain(std::string_view why);
};

void daemon::impl::run_sweeps() {
  auto sweep = [](std::string_view name, auto&& fn) {
    try {
      const auto found = fn();
      if (!found.empty())
        log(level::info, "sweep", {{"sweep", name}, {"reported", static_cast<long>(found.size())}});
    } catch (const std::exception& e) {
      log(level::warning, "sweep failed", {{"sweep", name}, {"error", e.what()}});
    }
  };
  sweep("stuck_requests", [&] { return svc.workflow.sweeps.stuck_requests(); });
  sweep("expiring_links", [&] { return svc.workflow.sweeps.expiring_links(); });
  sweep("interrupted_releases", [&] { return svc.workflow.sweeps.interrupted_releases(); });
  sweep("interrupted_agent_reviews",
        [&] { return svc.workflow.sweeps.interrupted_agent_reviews(); });
  remove_stale_scratch();
  jobs.nudge("notifier");  // the sweeps' notifications
}

void daemon::impl::remove_stale_scratch() {
  try {
    if (const auto n = svc.workflow.sweeps.stale_scratch_files())
      log(level::info, "sweep",
          {{"sweep", "stale_scratch_files"}, {"reported", static_cast<long>(n)}});
  } catch (const std::exception& e) {
    log(level::warning, "sweep failed", {{"sweep", "stale_scratch_files"}, {"error", e.what()}});
  }
}

void daemon::impl::run_storage_check() {
  try {
    const auto r = svc.workflow.sweeps.check_storage(/*remove=*/true);
    log(r.ok() ? level::info : level::error, "storage check",
        {{"files", static_cast<long>(r.files)},
         {"removed", static_cast<long>(r.orphans.size() + r.temporaries.size())},
         {"removed_bytes", static_cast<long>(r.orphan_bytes)},
         {"missing", static_cast<long>(r.missing_objects.size() + r.missing_packages.size())}});
  } catch (const std::exception& e) {
    log(level::warning, "storage check failed", {{"error", e.what()}});
  }
}

// ------------------------------------------------------ the built-in agent

// TREVOR_AGENT_REVIEW=builtin: the agent's worker runs every second on the
// worker pool, and a submission nudges it, so a submitted request is claimed
// at once (or within a second when the nudge is lost). Several daemons may
// run it on one database: the claim lets exactly one review each request.
void daemon::impl::start_builtin_agent() {
  if (!cfg.builtin_agent) return;
  jobs.every("agent", std::chrono::seconds(1), [this] { run_agent(); });
  api.submitted = [this] { jobs.nudge("agent"); };
}

void daemon::impl::run_agent() {
  constexpr std::size_t batch = 8;
  for (;;) {
    const auto outcomes = svc.agent.run_once(batch);
    for (const auto& o : outcomes) {
      if (!o.failure.empty()) {
        metrics.record_agent_attempt_failed();
        log(level::warning, "agent review attempt failed",
            {{"request_id", o.request_id.str()}, {"attempt", o.attempt}, {"error", o.failure}});
      }
      if (!o.recorded) continue;
      const auto decision = std::string(trevor::to_string(o.recorded->decision));
      metrics.record_agent_review(decision, failing_checks(o.recorded->findings_json));
      log(level::info, "agent review recorded",
          {{"request_id", o.request_id.str()}, {"decision", decision}});
    }
    if (!outcomes.empty()) jobs.nudge("notifier");  // the checkers' notifications
    // A full batch: more may be waiting (a drain stops the loop).
    if (outcomes.size() < batch || status.draining) return;
  }
}

// ------------------------------------------------------ the notifier

// With TREVOR_SMTP_URL or TREVOR_WEBHOOK_URL set, the notifier runs every
// TREVOR_NOTIFY_POLL_SECONDS on the worker pool, and every change made over
// the API (any call but a GET that succeeded) nudges it, so notification rows
// leave within moments of their commit. Several daemons may run it on one
// database: the library's claims keep them from sending a row twice at once.
void daemon::impl::start_notifier() {
  if (!svc.notifier->enabled()) return;
  jobs.every("notifier", cfg.notify_poll, [this] { run_notifier(); });
  api.changed = [this] { jobs.nudge("notifier"); };
}

void daemon::impl::run_notifier() {
  constexpr std::size_t batch = 16;
  for (;;) {
    const auto attempts = svc.notifier->run_once(batch);
    for (const auto& a : attempts) {
      const std::string channel(trevor::to_string(a.channel));
      const std::string outcome(trevor::to_string(a.outcome));
      metrics.record_notification_attempt(channel, outcome, a.skip_reason);
      if (a.outcome == trevor::attempt_outcome::failed ||
          a.outcome == trevor::attempt_outcome::given_up)
        log(a.outcome == trevor::attempt_outcome::given_up ? level::error : level::warning,
            "notification delivery failed",
            {{"notification_id", a.notification_id.str()},
             {"channel", channel},
             {"attempt", a.attempt},
             {"outcome", outcome},
             {"error", a.error}});
    }
    // A full batch: more may be due (a drain stops the loop).
    if (attempts.size() < batch || status.draining) return;
  }
}

void daemon::impl::begin_drain(std::string_view why) {
  if (status.draining.exchange(true)) return;
  log(level::info, "draining", {{"reason", why}, {"in_flight", status.in_flight.load()}});
  jobs.stop();
  asio::post(ioc, [this] {
    // Idle keep-alive connections are closed with the loop.
    server.drain(std::chrono::steady_clock::now() + cfg.drain_timeout, [this] { ioc.stop(); });
  });
}

daemon::daemon(const config& cfg, trevor::database db)
    : daemon(cfg, std::move(db), workflow_options_of(cfg)) {}

daemon::daemon(const config& cfg, trevor::database db, const trevor::workflow_options& options)
    : impl_(std::make_unique<impl>(cfg, std::move(db), options)) {}

daemon::~daemon() {
  impl_->workers.join();
}

unsigned short daemon::port() const {
  return impl_->server.port();
}

void daemon::run() {
  impl_->signals.async_wait([this](boost::system::error_code ec, int signo) {
    if (!ec) impl_->begin_drain(signo == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  impl_->server.start();
  impl_->jobs.start();
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < impl_->cfg.threads; ++i)
    threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
  impl_->server.io_stopped();
  impl_->workers.join();
  log(level::info, "stopped");
}

void daemon::stop() {
  impl_->begin_drain("stop requested");
}

}  // namespace trevord
