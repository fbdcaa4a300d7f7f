#pragma once
// Test support: one suite, two engines.
//
// TREVOR_TEST_DATABASE_URL chooses the engine for the whole run:
//   unset or sqlite:...  -> every fresh database is a private sqlite:///:memory:
//   postgresql://...     -> a server the tests may create schemas in; every
//                           fresh database is a new schema on it, dropped after.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <doctest/doctest.h>

#include "db/connection.hpp"
#include "trevor/database.hpp"
#include "trevor/error.hpp"

namespace trevor::test {

engine test_engine();
inline bool on_postgres() {
  return test_engine() == engine::postgresql;
}

/// The server URL from the environment (PostgreSQL runs only).
std::string postgres_admin_url();

/// A new, empty database on the engine under test, migrated unless told not to.
class fresh_database {
 public:
  /// `sqlite_file`: on SQLite, a database file in a new temporary directory
  /// (so that `pool_size` connections really work concurrently) instead of
  /// the single-connection :memory: database.
  /// `on`: the engine, when not the one under test (only SQLite may be
  /// asked for in a PostgreSQL run, never the reverse).
  explicit fresh_database(bool migrated = true, std::size_t pool_size = 4, bool sqlite_file = false,
                          std::optional<engine> on = std::nullopt);
  ~fresh_database();
  fresh_database(const fresh_database&) = delete;
  fresh_database& operator=(const fresh_database&) = delete;

  database& db() { return *db_; }
  /// A DATABASE_URL that opens this same database (not for :memory:).
  const std::string& url() const { return url_; }
  /// PostgreSQL: the schema name.
  const std::string& schema() const { return schema_; }

  /// Runs one statement on a pooled connection as is, outside any transaction.
  void exec(const std::string& sql);
  /// Runs one statement and returns the translated error it raised; fails
  /// the test if the statement succeeded.
  error exec_fails(const std::string& sql);
  long long count(const std::string& sql);
  std::string text(const std::string& sql);

 private:
  std::string url_;
  std::string schema_;
  std::string dir_;
  std::unique_ptr<database> db_;
};

/// Rows of request_facts, request_stays and review_facts (migration 0010, kept by
/// triggers) that differ from the same facts derived afresh from the base
/// tables and the audit trail, counted both ways; 0 when they agree.
long long facts_disagreeing_with_trail(fresh_database& f);

/// A new empty directory under the system's temporary directory, removed
/// with everything in it when the object goes.
/// Regular files below `root`, recursively; 0 when it does not exist.
std::size_t files_under(const std::filesystem::path& root);

class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Runs fn and returns the trevor::error it threw; fails the test if none.
error thrown_by(const std::function<void()>& fn);

/// Whether the environment variable `variable` (e.g. TREVOR_UPDATE_DOCS) asks
/// the test to rewrite its reference instead of comparing with it. Under CI
/// (CI set and not empty) a set variable fails the test instead: a CI run
/// compares, it never rewrites what it checks against.
bool rewrite_requested(const char* variable);

}  // namespace trevor::test
