#pragma once
// The bridge between the I/O threads and the threads that may block (the
// database worker pool, the transfer threads).
//
// A session never blocks its strand. Work that touches the database or files
// goes to a pool with run_then(), and its result comes back to the session
// as a completion posted to the session's strand. A worker streaming an
// upload or a download must wait for socket I/O, which runs on the strand
// with the configured timeouts: await() starts the operation there and
// blocks the worker until the operation's completion hands its result over
// (a condition variable, no polling). Once the I/O threads have stopped for
// good no completion will come: stop() wakes every waiting worker with
// nothing, and later awaits return nothing at once.
//
// Thread-safety: every member may be called from any thread.

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

namespace trevord {

class worker_bridge {
 public:
  /// What an I/O operation completed with: its error and bytes transferred.
  using io_result = std::pair<boost::system::error_code, std::size_t>;

  /// Runs `work()` on `pool`, then `then(result)` on `strand`.
  template <class Pool, class Strand, class Work, class Then>
  static void run_then(Pool& pool, const Strand& strand, Work work, Then then) {
    boost::asio::post(pool, [strand, work = std::move(work), then = std::move(then)]() mutable {
      auto result = work();
      boost::asio::post(strand, [result = std::move(result), then = std::move(then)]() mutable {
        then(std::move(result));
      });
    });
  }

  /// From a worker: runs `start(done)` on `strand`, where `start` begins an
  /// asynchronous operation that calls `done(ec, n)` when it completes, and
  /// blocks until it does. Nothing once stop() was called: the I/O threads
  /// are gone and the operation will never complete.
  template <class Strand, class Start>
  std::optional<io_result> await(const Strand& strand, Start start) {
    auto w = std::make_shared<waiter>();
    if (!enlist(w)) return std::nullopt;
    boost::asio::post(strand, [start = std::move(start), w]() mutable {
      start([w](boost::system::error_code ec, std::size_t n) { w->complete({ec, n}); });
    });
    return wait(w);
  }

  /// The I/O threads have stopped: wakes every worker waiting in await().
  void stop();

 private:
  /// One worker waiting in await().
  struct waiter {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<io_result> result;
    bool abandoned = false;
    void complete(io_result r);
    void abandon();
  };

  bool enlist(const std::shared_ptr<waiter>& w);
  std::optional<io_result> wait(const std::shared_ptr<waiter>& w);

  std::mutex mutex_;
  bool stopped_ = false;
  std::vector<std::shared_ptr<waiter>> waiting_;
};

}  // namespace trevord
