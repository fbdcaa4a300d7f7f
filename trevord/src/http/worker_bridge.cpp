#include "http/worker_bridge.hpp"

#include <algorithm>

namespace trevord {

void worker_bridge::waiter::complete(io_result r) {
  {
    std::lock_guard lock(mutex);
    result = r;
  }
  cv.notify_one();
}

void worker_bridge::waiter::abandon() {
  {
    std::lock_guard lock(mutex);
    abandoned = true;
  }
  cv.notify_one();
}

bool worker_bridge::enlist(const std::shared_ptr<waiter>& w) {
  std::lock_guard lock(mutex_);
  if (stopped_) return false;
  waiting_.push_back(w);
  return true;
}

std::optional<worker_bridge::io_result> worker_bridge::wait(const std::shared_ptr<waiter>& w) {
  std::optional<io_result> result;
  {
    std::unique_lock lock(w->mutex);
    w->cv.wait(lock, [&] { return w->result.has_value() || w->abandoned; });
    result = w->result;
  }
  std::lock_guard lock(mutex_);
  waiting_.erase(std::find(waiting_.begin(), waiting_.end(), w));
  return result;
}

void worker_bridge::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  for (const auto& w : waiting_) w->abandon();
}

}  // namespace trevord
