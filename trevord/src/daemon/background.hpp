#pragma once
// The daemon's periodic background jobs (the sweeps; whatever else must run
// every so often): each job runs on the worker pool, then waits its period
// again, so one job never overlaps itself. The timers run on a strand of the
// I/O context. stop() (the drain) cancels the waits; a job already running
// finishes.
//
// Adding a job is one call before start():
//
//   jobs.every(std::chrono::seconds(cfg.some_seconds), [&] { do_the_work(); });
//
// A job runs on a worker thread and may block (database); it catches what it
// can report itself: an exception leaving it is logged as a warning.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

namespace trevord {

class background {
 public:
  background(boost::asio::io_context& io, boost::asio::thread_pool& workers);
  background(const background&) = delete;
  background& operator=(const background&) = delete;

  /// Runs `job` (named `name` in the log) every `period` once started; a
  /// period of zero or less adds nothing (the job is switched off).
  void every(std::string name, std::chrono::milliseconds period, std::function<void()> job);

  /// Runs the job named `name` as soon as a worker is free instead of at
  /// the end of its period (when it is running, once more right after it);
  /// from any thread, cheap, never blocks. Unknown names are ignored.
  void nudge(const std::string& name);

  /// Starts the timers (call once, from any thread).
  void start();
  /// Cancels the timers; no job starts afterwards (from any thread).
  void stop();

 private:
  struct job {
    std::string name;
    std::chrono::milliseconds period;
    std::function<void()> run;
    boost::asio::steady_timer timer;
    bool nudged = false;  // on the strand only
  };
  void schedule(job& j);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::thread_pool& workers_;
  std::atomic<bool> stopped_{false};
  std::vector<std::unique_ptr<job>> jobs_;
};

}  // namespace trevord
