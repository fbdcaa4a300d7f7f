#pragma once
// Schema migrations.
//
// The migrations are the files of schema/, embedded into the library at build
// time. Each has an id (its 4-digit prefix), a name and a checksum: SHA-256 of
// its normalised text (line endings unified, trailing white space dropped), the
// same on both engines because one file holds both engines' SQL.
//
// A migration runs in one transaction together with its schema_migrations row,
// so a failed migration leaves no trace. On PostgreSQL, `up` first takes a
// session-level advisory lock on a dedicated connection and waits for it at
// most `lock_timeout`, so several daemons starting at once apply each
// migration exactly once; on SQLite each migration's BEGIN IMMEDIATE
// transaction re-checks that it is still pending.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "trevor/database.hpp"
#include "trevor/export.hpp"
#include "trevor/time.hpp"

namespace trevor {

struct migration {
  int id = 0;
  std::string name;
  std::string checksum;  // hex SHA-256 of the normalised text
};

struct applied_migration {
  int id = 0;
  std::string name;
  std::string checksum;
  timestamp applied_at;
  std::int64_t duration_ms = 0;
};

struct migration_report {
  std::vector<applied_migration> applied;  // as recorded in the database
  std::vector<migration> pending;          // known to this build, not applied
  /// One line per disagreement between database and build: a migration the
  /// build does not know (a newer trevor applied it), or a checksum or name
  /// that differs. Non-empty means the library must not serve this database.
  std::vector<std::string> problems;

  bool current() const noexcept { return pending.empty() && problems.empty(); }
};

struct migrator_options {
  /// PostgreSQL: longest wait for another process's migration lock.
  std::chrono::milliseconds lock_timeout{60'000};
};

class TREVOR_EXPORT migrator {
 public:
  explicit migrator(database db, migrator_options options = {});

  /// Every migration this build carries, in order.
  static const std::vector<migration>& known();

  /// Reads schema_migrations; changes nothing. An empty database has every
  /// migration pending.
  migration_report status() const;

  /// Throws trevor::error(conflict) with the report's problems if the
  /// database disagrees with the build (pending migrations are not a problem).
  void verify() const;

  /// Applies every pending migration in order; returns those it applied
  /// (empty when another process had already applied them). Refuses, like
  /// verify(), a database with problems.
  std::vector<applied_migration> up();

  /// The SQL `up` would run on this engine, pending migrations only, each
  /// preceded by a comment naming it.
  std::string plan() const;

  /// The SQL of one known migration for `e`, as it would be executed.
  static std::string sql_for(int id, engine e);

 private:
  database db_;
  migrator_options options_;
};

/// PostgreSQL only: grants an existing login role the privileges the
/// application needs on the current schema and nothing more: SELECT and INSERT
/// everywhere, UPDATE only where rows are mutable, DELETE only on
/// project_memberships, no TRUNCATE, and no UPDATE or DELETE on audit_events.
/// Run it as the schema owner after `up`. Throws invalid_argument on SQLite or
/// for a role name that is not a plain identifier.
TREVOR_EXPORT void grant_application_role(database& db, std::string_view role);

}  // namespace trevor
