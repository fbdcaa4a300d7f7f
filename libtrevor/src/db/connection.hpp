#pragma once
// One database connection and the pool that owns them (internal).
//
// A `lease` is a connection borrowed from the pool for one unit of work; it
// goes back when the lease is destroyed. Never take a second lease while
// holding one: the in-memory SQLite pool has a single connection.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include <soci/soci.h>

#include "trevor/database.hpp"
#include "trevor/database_url.hpp"

namespace trevor::detail {

/// Base of per-connection cached prepared statements (see connection::cached_for).
struct cached_statement {
  virtual ~cached_statement() = default;
};

class connection {
 public:
  connection(const database_url& url, const database_options& options);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  soci::session sql;
  engine kind() const noexcept { return kind_; }

  /// Runs a script of one or more statements without parameters through the
  /// driver's native call (sqlite3_exec / PQexec): one round trip, where
  /// SOCI's parameterless one-time statements take two on PostgreSQL.
  /// Throws trevor::error, translated like any statement's error.
  void exec_script(const std::string& script);

  /// A statement object of type T for one SQL text (by address), created
  /// once per connection with make(): statements prepared once and reused.
  /// `variant` tells apart statements made from one text (multi-row
  /// inserts by row count).
  template <class T, class Make>
  T& cached_for(const void* key, Make&& make, std::size_t variant = 0) {
    // Keyed by type too: equal literals may share an address.
    auto& slot = by_key_[{key, variant, std::type_index(typeid(T))}];
    if (!slot) slot = make();
    return static_cast<T&>(*slot);
  }

  /// Drops the statement cached_for() made (after it failed: SOCI 4.0's
  /// PostgreSQL backend leaks a failed execution's parameter buffers unless
  /// the statement is destroyed, and a fresh one is the safe state anyway).
  template <class T>
  void forget_cached(const void* key, std::size_t variant = 0) noexcept {
    by_key_.erase({key, variant, std::type_index(typeid(T))});
  }

  /// Whether a transaction is open on the connection (SQLite may end one by
  /// itself after some errors: a full disk, an I/O error).
  bool in_transaction();

  /// Re-opens the session after a lost connection and re-applies the
  /// per-connection settings. Drops cached statements.
  void reconnect();

  /// Marks the connection for a health check before its next use (after an
  /// `unavailable` error). Checking on every lease would cost PostgreSQL a
  /// round trip per operation.
  void mark_suspect() noexcept { suspect_ = true; }
  /// Reconnects a suspect connection that turns out to be lost; true when it
  /// did (the connection is a fresh one now). Throws error(unavailable) when
  /// the server cannot be reached.
  bool revive_if_suspect();

  /// When the pool last took the connection back (for idle validation).
  std::chrono::steady_clock::time_point last_released() const noexcept { return last_released_; }
  void set_released(std::chrono::steady_clock::time_point t) noexcept { last_released_ = t; }

 private:
  void configure();
  /// One round trip that proves the server still holds the session
  /// (PostgreSQL: an empty query). SQLite connections are always alive.
  bool alive();

  engine kind_;
  database_options options_;
  bool file_backed_;
  bool suspect_ = false;
  std::chrono::steady_clock::time_point last_released_ = std::chrono::steady_clock::now();
  std::map<std::tuple<const void*, std::size_t, std::type_index>, std::unique_ptr<cached_statement>>
      by_key_;
};

class database_impl;
class commit_group;

class lease {
 public:
  lease(database_impl* owner, connection* c) : owner_(owner), c_(c) {}
  lease(lease&& o) noexcept : owner_(o.owner_), c_(o.c_) { o.c_ = nullptr; }
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  lease& operator=(lease&&) = delete;
  ~lease();

  connection& operator*() const noexcept { return *c_; }
  connection* operator->() const noexcept { return c_; }

 private:
  database_impl* owner_;
  connection* c_;
};

class database_impl {
 public:
  database_impl(database_url url, const database_options& options);
  ~database_impl();

  /// Borrows a connection, waiting at most options.acquire_timeout.
  /// Throws error(unavailable) on time-out or when a lost connection cannot be
  /// re-opened.
  lease acquire();

  const database_url& url() const noexcept { return url_; }
  engine kind() const noexcept { return url_.kind; }
  const database_options& options() const noexcept { return options_; }
  std::size_t size() const noexcept { return all_.size(); }
  std::size_t in_use() const;
  /// The group commit of this database's SQLite write transactions; nullptr
  /// when they run one by one (PostgreSQL, in-memory SQLite, or turned off).
  commit_group* group() const noexcept { return group_.get(); }

 private:
  friend class lease;
  void release(connection* c) noexcept;

  database_url url_;
  database_options options_;
  std::unique_ptr<commit_group> group_;
  std::vector<std::unique_ptr<connection>> all_;
  std::vector<connection*> idle_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
};

}  // namespace trevor::detail
