#pragma once
// Transactions (internal). One service method = one transaction.

#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "db/commit_group.hpp"
#include "db/connection.hpp"
#include "db/errors.hpp"

namespace trevor::detail {

/// RAII transaction on a leased connection: rolls back unless committed.
/// Write transactions on SQLite start with BEGIN IMMEDIATE, so the write lock
/// is taken up front and concurrent writers wait (busy_timeout) instead of
/// failing on a lock upgrade. Read "transactions" on PostgreSQL issue no
/// BEGIN/COMMIT: under READ COMMITTED every statement takes its own snapshot
/// inside a transaction too, so they would add two round trips and no
/// consistency. On SQLite a read transaction keeps one snapshot for all its
/// statements and costs no round trip.
class transaction {
 public:
  enum class mode { read, write };
  transaction(connection& c, mode m) : c_(c) {
    if (m == mode::read && c_.kind() == engine::postgresql) {
      done_ = true;  // nothing to commit or roll back
      return;
    }
    c_.exec_script(c_.kind() == engine::sqlite && m == mode::write ? "BEGIN IMMEDIATE" : "BEGIN");
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction() {
    if (!done_) {
      try {
        c_.exec_script("ROLLBACK");
      } catch (...) {
        // A rollback on a broken connection has nothing left to undo.
      }
    }
  }
  void commit() {
    if (done_) return;
    c_.exec_script("COMMIT");
    done_ = true;
  }

 private:
  connection& c_;
  bool done_ = false;
};

/// SQLite: the turn of this process's write transactions on the database
/// file of `db` (one mutex per file, shared by every database object on it);
/// nullptr for PostgreSQL and in-memory databases.
/// Writers queue on it, each woken as soon as the previous one committed,
/// instead of polling in SQLite's busy handler, which sleeps up to 100 ms
/// between tries. SQLite's lock still decides; other processes meet it and
/// busy_timeout as before.
std::timed_mutex* sqlite_writer(const database_impl& db);

/// The lost-connection rule of run_transaction() and run_statement(): after
/// `e` on `l`'s connection, an `unavailable` marks it for a check; the first
/// time, when the work `may_rerun` (nothing of it can have been applied),
/// the connection is re-opened and moved into `reopened`: true means run the
/// work again on it. Throws `e` when the server is still away.
inline bool rerun_on_reopened(const error& e, lease& l, bool may_rerun, bool& retried_lost,
                              std::optional<lease>& reopened) {
  if (e.code() != errc::unavailable) return false;
  l->mark_suspect();
  if (!may_rerun || retried_lost) return false;
  retried_lost = true;
  bool fresh = false;
  try {
    fresh = l->revive_if_suspect();
  } catch (const error&) {
    throw e;  // the server is still away: the original failure
  }
  if (fresh) reopened.emplace(std::move(l));
  return fresh;
}

/// How many times a transaction that failed with a retryable engine error
/// (serialization failure, deadlock, SQLite busy) is run again in full.
inline constexpr int max_transaction_attempts = 5;

/// Runs `fn(connection&)` in one transaction on a pooled connection and commits;
/// rolls back and rethrows as trevor::error on failure, retrying retryable
/// failures up to max_transaction_attempts times. `context` names the
/// operation in error messages.
///
/// A connection found lost before COMMIT was sent (the server restarted, or
/// dropped an idle session) is re-opened and the transaction run once more
/// on it: the server rolled the lost one back, so nothing is applied twice.
/// A connection lost during COMMIT is never retried — whether it committed is
/// unknown — and the caller gets `unavailable`.
///
/// On an SQLite file a write transaction joins the database's commit group
/// (db/commit_group.hpp): committed together with the writes that arrived
/// while another ran; when the group cannot run it, it runs as below.
template <class F>
auto run_transaction(database_impl& db, transaction::mode m, std::string_view context, F&& fn)
    -> std::invoke_result_t<F&, connection&> {
  using result_type = std::invoke_result_t<F&, connection&>;
  if (auto* group = m == transaction::mode::write ? db.group() : nullptr) {
    using stored = std::conditional_t<std::is_void_v<result_type>, bool, result_type>;
    std::optional<stored> result;
    group_member member;
    member.context = context;
    member.body = [&](connection& c) {
      if constexpr (std::is_void_v<result_type>) {
        fn(c);
        result.emplace(true);
      } else {
        result.emplace(fn(c));
      }
    };
    group->run(db, member);
    if (member.result == group_member::outcome::failed) throw std::move(*member.failure);
    if (member.result == group_member::outcome::committed) {
      if constexpr (std::is_void_v<result_type>)
        return;
      else
        return std::move(*result);
    }
    // outcome::alone: on its own, below.
  }
  std::optional<lease> reopened;
  bool retried_lost = false;
  for (int attempt = 1;; ++attempt) {
    lease l = reopened ? std::move(*reopened) : db.acquire();
    reopened.reset();
    // SQLite admits one writer at a time: this process's writers take turns
    // here (sqlite_writer()); after the busy timeout without a turn, SQLite's
    // own lock decides as before.
    std::unique_lock<std::timed_mutex> writer;
    if (auto* turn = m == transaction::mode::write ? sqlite_writer(db) : nullptr) {
      writer = std::unique_lock(*turn, std::defer_lock);
      (void)writer.try_lock_for(db.options().sqlite_busy_timeout);
    }
    bool committing = false;
    try {
      transaction tx(*l, m);
      if constexpr (std::is_void_v<std::invoke_result_t<F&, connection&>>) {
        fn(*l);
        committing = true;
        tx.commit();
        return;
      } else {
        auto result = fn(*l);
        committing = true;
        tx.commit();
        return result;
      }
    } catch (...) {
      error e = translate_current_exception(context);
      if (rerun_on_reopened(e, l, !committing, retried_lost, reopened)) continue;
      if (e.retryable() && attempt < max_transaction_attempts) continue;
      throw e;
    }
  }
}

/// What a statement run by run_statement() does: a read may be run again on
/// a re-opened connection; a write may not (lost mid-statement, it may have
/// committed).
enum class statement_kind { read, write };

/// Runs `fn(connection&)` on a pooled connection without an explicit
/// transaction (one statement, autocommit), translating errors.
///
/// A read whose connection is found lost (a server restart kills every
/// pooled session, and only those used during the outage were marked for a
/// check) is run once more on the re-opened connection, as run_transaction()
/// does before COMMIT; a write is not.
template <class F>
auto run_statement(database_impl& db, std::string_view context, F&& fn,
                   statement_kind kind = statement_kind::read)
    -> std::invoke_result_t<F&, connection&> {
  std::optional<lease> reopened;
  bool retried_lost = false;
  for (int attempt = 1;; ++attempt) {
    lease l = reopened ? std::move(*reopened) : db.acquire();
    reopened.reset();
    try {
      return fn(*l);
    } catch (...) {
      error e = translate_current_exception(context);
      if (rerun_on_reopened(e, l, kind == statement_kind::read, retried_lost, reopened)) continue;
      if (e.retryable() && attempt < max_transaction_attempts) continue;
      throw e;
    }
  }
}

}  // namespace trevor::detail
