#include "db/commit_group.hpp"

#include <algorithm>
#include <vector>

#include "db/connection.hpp"
#include "db/errors.hpp"
#include "db/transaction.hpp"

namespace trevor::detail {

namespace {

using outcome = group_member::outcome;

void set_all(std::vector<outcome>& out, outcome from, outcome to) {
  for (auto& o : out)
    if (o == from) o = to;
}

void roll_back(connection& c) noexcept {
  try {
    if (c.in_transaction()) c.exec_script("ROLLBACK");
  } catch (...) {
    // Nothing more to undo on a connection that cannot roll back.
  }
}

/// Runs `batch` in one transaction and returns each member's outcome:
/// committed, failed (its `failure` set) or alone. The outcomes are the
/// caller's to publish under the queue's lock; a member reads its `failure`
/// and its body's result only after that. Never throws.
std::vector<outcome> run_batch(database_impl& db, const std::vector<group_member*>& batch) {
  std::vector<outcome> out(batch.size(), outcome::waiting);
  // A connection first, then the writer's turn: the order every writer
  // takes them in (run_transaction()).
  std::optional<lease> l;
  std::unique_lock<std::timed_mutex> turn;
  try {
    l.emplace(db.acquire());
    if (auto* writer = sqlite_writer(db)) {
      turn = std::unique_lock(*writer, std::defer_lock);
      (void)turn.try_lock_for(db.options().sqlite_busy_timeout);
    }
    (*l)->exec_script("BEGIN IMMEDIATE");
  } catch (...) {
    // Busy (another process writes), no connection: each on its own, with
    // run_transaction()'s waits and retries.
    set_all(out, outcome::waiting, outcome::alone);
    return out;
  }
  connection& c = **l;
  const bool alone_in_group = batch.size() == 1;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    group_member* m = batch[i];
    try {
      if (!alone_in_group) c.exec_script("SAVEPOINT trevor_member");
      m->body(c);
      if (!alone_in_group) c.exec_script("RELEASE trevor_member");
    } catch (...) {
      error e = translate_current_exception(m->context);
      if (alone_in_group) {
        // As a transaction of its own: rolled back, failed or retried.
        roll_back(c);
        if (e.retryable()) {
          out[i] = outcome::alone;
        } else {
          m->failure = std::move(e);
          out[i] = outcome::failed;
        }
        return out;
      }
      bool intact = false;
      try {
        if (c.in_transaction()) {
          c.exec_script("ROLLBACK TO trevor_member");
          c.exec_script("RELEASE trevor_member");
          intact = true;
        }
      } catch (...) {
        intact = false;
      }
      if (!intact) {
        // The transaction is gone or cannot be trusted (SQLite ended it on
        // a full disk or an I/O error): what ran before is undone; everyone
        // not failed runs on their own.
        roll_back(c);
        set_all(out, outcome::waiting, outcome::alone);
        return out;
      }
      if (e.retryable()) {
        out[i] = outcome::alone;  // its own transaction retries it
      } else {
        m->failure = std::move(e);
        out[i] = outcome::failed;
      }
    }
  }
  try {
    c.exec_script("COMMIT");
  } catch (...) {
    roll_back(c);
    set_all(out, outcome::waiting, outcome::alone);
    return out;
  }
  set_all(out, outcome::waiting, outcome::committed);
  return out;
}

}  // namespace

void commit_group::run(database_impl& db, group_member& m) {
  std::unique_lock lock(mutex_);
  queue_.push_back(&m);
  while (m.result == outcome::waiting) {
    if (!leading_) {
      lead(db, lock);
      continue;
    }
    changed_.wait(lock);
  }
}

void commit_group::lead(database_impl& db, std::unique_lock<std::mutex>& lock) {
  leading_ = true;
  std::vector<group_member*> batch;
  while (!queue_.empty() && batch.size() < max_group_members) {
    batch.push_back(queue_.front());
    queue_.pop_front();
  }
  // The outcomes are decided without the lock (others keep queueing) and
  // published with it.
  lock.unlock();
  const auto decided = run_batch(db, batch);
  lock.lock();
  ++stats_.groups;
  stats_.members += batch.size();
  stats_.largest = std::max(stats_.largest, batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->result = decided[i];
  leading_ = false;
  changed_.notify_all();
}


commit_group::statistics commit_group::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::size_t commit_group::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool commit_group::leading() const {
  std::lock_guard lock(mutex_);
  return leading_;
}

}  // namespace trevor::detail
