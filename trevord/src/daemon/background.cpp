#include "daemon/background.hpp"

#include <exception>

#include <boost/asio/post.hpp>

#include "daemon/log.hpp"

namespace trevord {

namespace asio = boost::asio;

background::background(asio::io_context& io, asio::thread_pool& workers)
    : strand_(asio::make_strand(io)), workers_(workers) {}

void background::every(std::string name, std::chrono::milliseconds period,
                       std::function<void()> fn) {
  if (period.count() <= 0) return;
  jobs_.push_back(std::unique_ptr<job>(
      new job{std::move(name), period, std::move(fn), asio::steady_timer(strand_)}));
}

void background::start() {
  asio::post(strand_, [this] {
    for (auto& j : jobs_) schedule(*j);
  });
}

void background::stop() {
  stopped_ = true;
  asio::post(strand_, [this] {
    for (auto& j : jobs_) j->timer.cancel();
  });
}

void background::nudge(const std::string& name) {
  if (stopped_) return;
  asio::post(strand_, [this, name] {
    for (auto& j : jobs_)
      if (j->name == name) {
        // A waiting timer completes now (operation_aborted with nudged set);
        // a running job is scheduled again without waiting.
        j->nudged = true;
        j->timer.cancel();
      }
  });
}

void background::schedule(job& j) {
  if (stopped_) return;
  j.timer.expires_after(j.nudged ? std::chrono::milliseconds(0) : j.period);
  j.timer.async_wait([this, &j](boost::system::error_code ec) {
    if (stopped_) return;
    if (ec && !(ec == asio::error::operation_aborted && j.nudged)) return;
    j.nudged = false;
    asio::post(workers_, [this, &j] {
      try {
        j.run();
      } catch (const std::exception& e) {
        log(level::warning, "background job failed", {{"job", j.name}, {"error", e.what()}});
      }
      asio::post(strand_, [this, &j] { schedule(j); });
    });
  });
}

}  // namespace trevord
