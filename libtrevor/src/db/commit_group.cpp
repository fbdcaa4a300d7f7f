#include "db/commit_group.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "db/connection.hpp"
#include "db/errors.hpp"
#include "db/transaction.hpp"

namespace trevor::detail {

namespace {

using outcome = group_member::outcome;

/// Set while this thread runs a group's bodies: a body that starts a write
/// transaction of its own would wait for its own group for ever.
thread_local bool running_group = false;

void roll_back(connection& c) noexcept {
  try {
    if (c.in_transaction()) c.exec_script("ROLLBACK");
  } catch (...) {
    // Nothing more to undo on a connection that cannot roll back.
  }
}

/// The group did not commit: nothing of it was kept, so every member runs
/// again on its own — those that failed too, since their failure may have
/// come from an earlier member's writes, which are gone.
void all_alone(std::vector<outcome>& out, const std::vector<group_member*>& batch) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i]->failure.reset();
    out[i] = outcome::alone;
  }
}

/// Runs `batch` in one transaction and returns each member's outcome:
/// committed, failed (its `failure` set) or alone. The outcomes are the
/// caller's to publish under the queue's lock; a member reads its `failure`
/// and its body's result only after that.
std::vector<outcome> run_batch(database_impl& db, const std::vector<group_member*>& batch) {
  std::vector<outcome> out(batch.size(), outcome::waiting);
  // A connection first, then the writer's turn: the order every writer
  // takes them in (run_transaction()).
  std::optional<lease> l;
  std::unique_lock<std::timed_mutex> turn;
  // A group's savepoint journals in memory (SQLite decides where at BEGIN):
  // past 64 KiB SQLite would spill them to a file in /var/tmp that it
  // creates, writes page by page and unlinks — with several members, more
  // writes than the WAL itself. Only for the group's transaction: reads
  // (the dashboards' sorts and materialized CTEs) are faster with SQLite's
  // default temporary storage.
  struct temp_store_in_memory {
    connection* c = nullptr;
    ~temp_store_in_memory() {
      if (!c) return;
      try {
        if (!c->in_transaction()) c->exec_script("PRAGMA temp_store = DEFAULT");
      } catch (...) {
        // The setting only moves journals; a connection that cannot reset
        // it keeps working.
      }
    }
  } in_memory;
  try {
    l.emplace(db.acquire());
    if (auto* writer = sqlite_writer(db)) {
      turn = std::unique_lock(*writer, std::defer_lock);
      (void)turn.try_lock_for(db.options().sqlite_busy_timeout);
    }
    if (batch.size() > 1) {  // a group of one runs as a transaction of its own
      (*l)->exec_script("PRAGMA temp_store = MEMORY");
      in_memory.c = &**l;
    }
    (*l)->exec_script("BEGIN IMMEDIATE");
  } catch (...) {
    // Busy (another process writes), no connection: each on its own, with
    // run_transaction()'s waits and retries.
    all_alone(out, batch);
    return out;
  }
  connection& c = **l;
  const bool alone_in_group = batch.size() == 1;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    group_member* m = batch[i];
    try {
      if (!alone_in_group) c.exec_script("SAVEPOINT trevor_member");
      m->body(c);
      // A body that swallowed an error which ended the transaction: what
      // it ran after that is not in this transaction.
      if (!c.in_transaction()) throw error(errc::internal, "the transaction ended inside a write");
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
        // a full disk or an I/O error): nothing of the group is kept.
        roll_back(c);
        all_alone(out, batch);
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
    error e = translate_current_exception("commit");
    if (e.retryable() && c.in_transaction()) {
      // Busy: certainly not committed. Each on its own, with the retries.
      roll_back(c);
      all_alone(out, batch);
      return out;
    }
    // Whether the COMMIT reached the disk is unknown (an I/O error after the
    // commit frame was written is committed on recovery): run nothing again,
    // as run_transaction() never retries a failed COMMIT.
    roll_back(c);
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (out[i] == outcome::waiting) {
        batch[i]->failure = e;
        out[i] = outcome::failed;
      }
    return out;
  }
  for (auto& o : out)
    if (o == outcome::waiting) o = outcome::committed;
  return out;
}

}  // namespace

void commit_group::run(database_impl& db, group_member& m) {
  if (running_group)
    throw error(errc::internal,
                fmt::format("{}: a write transaction started inside another", m.context));
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
  std::vector<outcome> decided;
  try {
    batch.reserve(std::min(queue_.size(), max_group_members));
    while (!queue_.empty() && batch.size() < max_group_members) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    // The outcomes are decided without the lock (others keep queueing) and
    // published with it.
    lock.unlock();
    running_group = true;
    try {
      decided = run_batch(db, batch);
    } catch (...) {
      // Out of memory while translating an error, say: nothing committed
      // that anyone was told of; each runs on its own.
      decided.assign(batch.size(), outcome::alone);
      for (auto* m : batch) m->failure.reset();
    }
    running_group = false;
    lock.lock();
  } catch (...) {
    // Only allocation can fail before the batch is taken: the members stay
    // queued for the next leader.
    running_group = false;
    if (!lock.owns_lock()) lock.lock();
    leading_ = false;
    changed_.notify_all();
    throw;
  }
  std::size_t committed = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i]->result = decided[i];
    if (decided[i] == outcome::committed) ++committed;
  }
  if (committed > 0) {
    ++stats_.groups;
    stats_.members += committed;
    stats_.largest = std::max(stats_.largest, committed);
  }
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
