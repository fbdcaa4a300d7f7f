#pragma once
// Group commit for SQLite write transactions (internal).
//
// SQLite admits one writer at a time, and each write transaction pays for its
// own BEGIN IMMEDIATE (file locks, the WAL index) and its own COMMIT (every
// page it dirtied appended to the WAL). Writers that arrive while another
// transaction is running queue here; the first of them to find nobody leading
// takes every queued writer (up to max_group_members) and runs them in ONE
// transaction on one connection, each in its own SAVEPOINT, then commits once.
// Pages that several of them dirty (the same index leaves, the same table's
// last page) are written to the WAL once.
//
// What each writer sees is what it would see alone, run in arrival order: a
// member's body runs on the group's connection after the members before it,
// with their writes visible, as if they had committed just before. A member
// whose body fails is rolled back to its savepoint and fails alone; the others
// go on. A member is acknowledged only after the COMMIT that holds it.
// Whatever breaks the group before its COMMIT (BEGIN fails, a statement ends
// the whole transaction, no connection, a busy COMMIT) sends every member —
// a failed one too, whose failure may have come from writes now undone —
// back to run on its own (run_transaction()'s usual path, with its retries),
// so a group never turns one writer's problem into another's error. A COMMIT
// that fails otherwise may have reached the disk: like run_transaction(),
// nothing is run again, and every member gets the COMMIT's error.
//
// A transaction body must not start a write transaction of its own (it
// would wait for its own group): that throws `internal`.
//
// A group of one runs exactly as a transaction of its own: no savepoint.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>

#include "trevor/error.hpp"

namespace trevor::detail {

class connection;
class database_impl;

/// One write transaction waiting for, or run by, a group.
struct group_member {
  /// The transaction's body (run_transaction()'s fn, its result kept by the
  /// closure). May run more than once, like any transaction body.
  std::function<void(connection&)> body;
  std::string_view context;
  enum class outcome {
    waiting,    // queued or running
    committed,  // the body ran and its group committed
    failed,     // the body failed: `failure` says how; nothing of it was kept
    alone,      // the group could not run it: run it as a transaction of its own
  };
  outcome result = outcome::waiting;
  std::optional<error> failure;
};

class commit_group {
 public:
  /// Most members in one group: bounds one group's latency and the size of
  /// its transaction.
  static constexpr std::size_t max_group_members = 32;

  /// Queues `m` and returns once its outcome is known: led by another
  /// thread, or by this one when nobody leads (then it may lead members
  /// that queued after it, too).
  void run(database_impl& db, group_member& m);

  /// What the groups committed so far (for tests and metrics).
  struct statistics {
    std::uint64_t groups = 0;   // transactions committed for groups
    std::uint64_t members = 0;  // write transactions they held
    std::size_t largest = 0;    // members committed by the largest group
  };
  statistics stats() const;
  /// Writers queued and not yet taken by a leader.
  std::size_t queued() const;
  /// Whether a leader is running a group now.
  bool leading() const;

 private:
  void lead(database_impl& db, std::unique_lock<std::mutex>& lock);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  statistics stats_;
  std::deque<group_member*> queue_;
  bool leading_ = false;
};

}  // namespace trevor::detail
