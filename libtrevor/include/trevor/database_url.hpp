#pragma once
// DATABASE_URL: the one setting that chooses the engine.
//
// Accepted forms:
//   sqlite:///relative/path.db      (relative to the working directory)
//   sqlite:////absolute/path.db
//   sqlite:///:memory:              (private in-memory database)
//   postgresql://user:pass@host:port/db?sslmode=require&...
//   postgres://...                  (alias)
//   sqlite+aiosqlite://... and postgresql+asyncpg://... (SQLAlchemy's async spellings)
//
// User, password, host and database name are percent-decoded. Query
// parameters are passed to libpq as connection keywords (sslmode,
// application_name, options, connect_timeout, ...). A connect_timeout of 5
// seconds is added when none is given, so an unreachable server fails fast.

#include <string>
#include <string_view>

#include "trevor/export.hpp"

namespace trevor {

enum class engine { sqlite, postgresql };
TREVOR_EXPORT std::string_view to_string(engine e) noexcept;

struct database_url {
  engine kind = engine::sqlite;
  /// SQLite: the file path, or ":memory:". PostgreSQL: empty.
  std::string sqlite_path;
  /// The connection string SOCI's backend takes ("db=..." or libpq keywords).
  std::string connect_string;
  /// The URL with any password replaced by "***", for logs and errors.
  std::string redacted;

  bool in_memory() const noexcept { return kind == engine::sqlite && sqlite_path == ":memory:"; }
};

/// Parses a DATABASE_URL. Throws trevor::error(invalid_argument) whose message
/// names what is wrong (unknown scheme, bad port, bad percent-escape, ...) and
/// never contains the password.
TREVOR_EXPORT database_url parse_database_url(std::string_view url);

}  // namespace trevor
