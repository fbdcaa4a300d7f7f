#pragma once
// trevor::database — the connection pool every libtrevor component shares.
//
// Open one per process at start-up from DATABASE_URL and pass it (it is a
// cheap, copyable handle) to the components that need it. It holds all of the
// library's database state; nothing else does.
//
// Engines:
//  * SQLite: every connection runs with WAL (files only), foreign_keys=ON,
//    synchronous=NORMAL and a busy timeout; write transactions start with
//    BEGIN IMMEDIATE so concurrent writers queue instead of failing.
//    `sqlite:///:memory:` is one private database: its pool has exactly one
//    connection so every user of the handle sees the same data.
//  * PostgreSQL: connections are opened with a bounded connect_timeout.
//
// Thread-safety: all member functions may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "trevor/database_url.hpp"
#include "trevor/export.hpp"

namespace trevor {

namespace detail {
class database_impl;
}

struct database_options {
  /// Connections in the pool (TREVOR_DB_POOL_SIZE). Forced to 1 for :memory:.
  std::size_t pool_size = 8;
  /// How long an operation waits for a free connection before `unavailable`.
  std::chrono::milliseconds acquire_timeout{10'000};
  /// SQLite: how long a statement waits on another writer's lock.
  std::chrono::milliseconds sqlite_busy_timeout{10'000};
  /// PostgreSQL: a connection idle for longer than this is checked (one empty
  /// query) before it is lent, and re-opened if the server dropped it (a
  /// restart, an idle timeout). Zero checks every time.
  std::chrono::milliseconds validate_idle_after{10'000};
  /// SQLite on a file: write transactions that arrive while another is
  /// running are committed together, each in its own savepoint, in one
  /// transaction (one lock, one WAL append); a failing one is rolled back
  /// alone, and none is acknowledged before the commit that holds it. Off:
  /// each write is a transaction of its own.
  bool sqlite_group_commit = true;
};

class TREVOR_EXPORT database {
 public:
  /// Parses `url`, opens the pool's connections and configures them.
  /// Throws trevor::error: invalid_argument for a bad URL, unavailable when the
  /// server cannot be reached or refuses the credentials (the message names
  /// the redacted URL and the driver's reason).
  static database open(std::string_view url, const database_options& options = {});

  engine kind() const noexcept;
  const database_url& url() const noexcept;
  std::size_t pool_size() const noexcept;
  /// Connections currently leased out.
  std::size_t in_use() const noexcept;

  /// SQLite group commit (database_options::sqlite_group_commit) so far:
  /// the transactions committed for groups and the writes they held; zeros
  /// when writes run one by one (PostgreSQL, in-memory SQLite, turned off).
  struct group_commit_counts {
    std::uint64_t commits = 0;
    std::uint64_t writes = 0;
  };
  group_commit_counts group_commits() const;

  /// Runs a trivial query on a pooled connection. Throws unavailable on failure.
  void ping() const;

  /// For libtrevor's own components.
  detail::database_impl& impl() const noexcept { return *impl_; }

 private:
  explicit database(std::shared_ptr<detail::database_impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<detail::database_impl> impl_;
};

}  // namespace trevor
