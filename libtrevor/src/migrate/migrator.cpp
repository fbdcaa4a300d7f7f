#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "db/connection.hpp"
#include "db/dialect.hpp"
#include "db/errors.hpp"
#include "db/introspect.hpp"
#include "db/rows.hpp"
#include "db/transaction.hpp"
#include "domain/sha256.hpp"
#include "migrate/embedded.hpp"
#include "trevor/error.hpp"
#include "trevor/migrate.hpp"

namespace trevor {
namespace {

using detail::connection;

// Any value will do as long as no other application on the same PostgreSQL
// database uses it: the ASCII bytes of "trevor".
constexpr long long migration_lock_key = 0x747265766f72LL;

constexpr const char* create_bookkeeping =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " id BIGINT NOT NULL PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"
    " applied_at {ts} NOT NULL DEFAULT {now},"
    " duration_ms BIGINT NOT NULL)";

std::string label(int id, std::string_view name) {
  return fmt::format("{:04}_{}", id, name);
}

/// Line endings unified, trailing white space and trailing blank lines dropped.
std::string normalise(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    out.append(line);
    out.push_back('\n');
    start = end + 1;
  }
  while (out.size() > 1 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n')
    out.pop_back();
  return out;
}

/// The part of a migration file that applies to `e`, placeholders expanded.
std::string engine_sql(std::string_view text, engine e) {
  const std::string_view marker = "-- @engine:";
  std::string out;
  bool include = true;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (line.starts_with(marker)) {
      std::string_view which = line.substr(marker.size());
      while (!which.empty() && (which.front() == ' ')) which.remove_prefix(1);
      while (!which.empty() && (which.back() == ' ' || which.back() == '\r'))
        which.remove_suffix(1);
      if (which != "all" && which != "sqlite" && which != "postgresql")
        throw error(errc::internal, fmt::format("migration: unknown engine section '{}'", which));
      include = which == "all" || which == to_string(e);
    } else if (include) {
      out.append(line);
      out.push_back('\n');
    }
    start = end + 1;
  }
  return detail::expand_sql(out, e);
}

const detail::embedded_migration& embedded(int id) {
  for (const auto& m : detail::embedded_migrations())
    if (m.id == id) return m;
  throw error(errc::not_found, fmt::format("no migration {:04} in this build", id));
}

migration_report read_report(connection& c) {
  migration_report report;
  std::map<int, const migration*> known;
  for (const auto& m : migrator::known()) known.emplace(m.id, &m);

  if (detail::table_exists(c, "schema_migrations")) {
    soci::rowset<soci::row> rows =
        (c.sql.prepare << detail::expanded("SELECT id, name, checksum, {t:applied_at}, duration_ms "
                                           "FROM schema_migrations ORDER BY id",
                                           c.kind()));
    for (const auto& r : rows) {
      applied_migration a;
      a.id = static_cast<int>(detail::get_i64(r, 0));
      a.name = detail::get_str(r, 1);
      a.checksum = detail::get_str(r, 2);
      a.applied_at = detail::get_ts(r, 3);
      a.duration_ms = detail::get_i64(r, 4);
      report.applied.push_back(std::move(a));
    }
  }
  int highest_applied = 0;
  for (const auto& a : report.applied) {
    highest_applied = std::max(highest_applied, a.id);
    auto it = known.find(a.id);
    if (it == known.end()) {
      report.problems.push_back(fmt::format(
          "the database has migration {} that this build does not know (applied by a newer "
          "trevor?)",
          label(a.id, a.name)));
      continue;
    }
    const migration& k = *it->second;
    if (k.name != a.name)
      report.problems.push_back(
          fmt::format("migration {:04} is named '{}' in the database but '{}' "
                      "in this build",
                      a.id, a.name, k.name));
    if (k.checksum != a.checksum)
      report.problems.push_back(
          fmt::format("migration {} differs: checksum {} in the database, {} in this build",
                      label(k.id, k.name), a.checksum, k.checksum));
  }
  for (const auto& k : migrator::known()) {
    const bool applied = std::any_of(report.applied.begin(), report.applied.end(),
                                     [&](const applied_migration& a) { return a.id == k.id; });
    if (applied) continue;
    report.pending.push_back(k);
    if (k.id < highest_applied)
      report.problems.push_back(fmt::format(
          "migration {} is not applied but a later one is: the database's history has a gap",
          label(k.id, k.name)));
  }
  return report;
}

[[noreturn]] void throw_problems(const migration_report& report) {
  std::string text = "the database schema does not match this build: ";
  for (std::size_t i = 0; i < report.problems.size(); ++i) {
    if (i) text += "; ";
    text += report.problems[i];
  }
  throw error(errc::conflict, text);
}

bool is_applied(connection& c, int id) {
  long long n = 0;
  long long key = id;
  c.sql << "SELECT count(*) FROM schema_migrations WHERE id = :id", soci::use(key), soci::into(n);
  return n > 0;
}

std::vector<applied_migration> apply_pending(connection& c) {
  {
    detail::transaction tx(c, detail::transaction::mode::write);
    c.sql << detail::expanded(create_bookkeeping, c.kind());
    tx.commit();
  }
  const migration_report report = read_report(c);
  if (!report.problems.empty()) throw_problems(report);

  std::vector<applied_migration> done;
  for (const auto& m : report.pending) {
    const auto started = std::chrono::steady_clock::now();
    try {
      detail::transaction tx(c, detail::transaction::mode::write);
      if (is_applied(c, m.id)) continue;  // another process got there first (SQLite)
      c.exec_script(migrator::sql_for(m.id, c.kind()));
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
      long long id = m.id;
      long long duration = ms;
      std::string name = m.name;
      std::string checksum = m.checksum;
      c.sql << "INSERT INTO schema_migrations (id, name, checksum, duration_ms) "
               "VALUES (:id, :name, :checksum, :duration)",
          soci::use(id), soci::use(name), soci::use(checksum), soci::use(duration);
      tx.commit();
      done.push_back(
          {m.id, m.name, m.checksum, timestamp::from_sys(std::chrono::system_clock::now()), ms});
    } catch (...) {
      auto e = detail::translate_current_exception("");
      throw error(e.code() == errc::unavailable ? errc::unavailable : errc::internal,
                  fmt::format("migration {} failed and was rolled back: {}", label(m.id, m.name),
                              e.what()));
    }
  }
  return done;
}

/// PostgreSQL: holds the session-level migration lock on a dedicated connection.
class migration_lock {
 public:
  migration_lock(connection& c, std::chrono::milliseconds timeout) : c_(c) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int got = 0;
      long long key = migration_lock_key;
      c_.sql << "SELECT CASE WHEN pg_try_advisory_lock(:k) THEN 1 ELSE 0 END", soci::use(key),
          soci::into(got);
      if (got) return;
      if (std::chrono::steady_clock::now() >= deadline)
        throw error(errc::unavailable,
                    fmt::format("another process held the migration lock for more than {} ms",
                                timeout.count()));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~migration_lock() {
    try {
      long long key = migration_lock_key;
      int released = 0;
      c_.sql << "SELECT CASE WHEN pg_advisory_unlock(:k) THEN 1 ELSE 0 END", soci::use(key),
          soci::into(released);
    } catch (...) {
      // Closing the dedicated connection releases the lock anyway.
    }
  }
  migration_lock(const migration_lock&) = delete;
  migration_lock& operator=(const migration_lock&) = delete;

 private:
  connection& c_;
};

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
}

}  // namespace

const std::vector<migration>& migrator::known() {
  static const std::vector<migration> list = [] {
    std::vector<migration> v;
    for (const auto& m : detail::embedded_migrations())
      v.push_back({m.id, std::string(m.name), detail::sha256_hex(normalise(m.text))});
    return v;
  }();
  return list;
}

std::string migrator::sql_for(int id, engine e) {
  return engine_sql(embedded(id).text, e);
}

migrator::migrator(database db, migrator_options options) : db_(std::move(db)), options_(options) {}

migration_report migrator::status() const {
  return detail::run_statement(db_.impl(), "migration status",
                               [](connection& c) { return read_report(c); });
}

void migrator::verify() const {
  const auto report = status();
  if (!report.problems.empty()) throw_problems(report);
}

std::vector<applied_migration> migrator::up() {
  auto& impl = db_.impl();
  try {
    if (impl.kind() == engine::sqlite) {
      auto l = impl.acquire();
      return apply_pending(*l);
    }
    // A dedicated connection: the session-level lock lives and dies with it.
    connection c(impl.url(), impl.options());
    migration_lock lock(c, options_.lock_timeout);
    return apply_pending(c);
  } catch (...) {
    detail::rethrow_translated("migrate up");
  }
}

std::string migrator::plan() const {
  const auto report = status();
  if (!report.problems.empty()) throw_problems(report);
  std::string out;
  for (const auto& m : report.pending) {
    out += fmt::format("-- migration {} (sha256 {})\n", label(m.id, m.name), m.checksum);
    out += sql_for(m.id, db_.kind());
    out += "\n";
  }
  return out;
}

void grant_application_role(database& db, std::string_view role) {
  if (db.kind() != engine::postgresql)
    throw error(errc::invalid_argument, "application roles exist only on PostgreSQL");
  if (!is_identifier(role))
    throw error(errc::invalid_argument,
                fmt::format("role name '{}' must be a lower-case SQL identifier", role));
  // Tables whose rows the workflow updates. Every other table is insert-only
  // for the application: audit_events, reviews, delivery_records,
  // notification_delivery_attempts.
  static constexpr std::string_view updatable[] = {"users",
                                                   "projects",
                                                   "project_memberships",
                                                   "airlock_requests",
                                                   "output_objects",
                                                   "output_object_metadata",
                                                   "notifications",
                                                   "notification_deliveries",
                                                   "release_records",
                                                   "release_heartbeats"};
  detail::run_transaction(
      db.impl(), detail::transaction::mode::write, "grant application role", [&](connection& c) {
        std::string schema;
        c.sql << "SELECT current_schema()", soci::into(schema);
        const std::string s = "\"" + schema + "\"";
        const std::string r(role);
        c.sql << fmt::format("GRANT USAGE ON SCHEMA {} TO {}", s, r);
        c.sql << fmt::format("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}", s, r);
        c.sql << fmt::format("GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {} TO {}", s, r);
        c.sql << fmt::format("REVOKE INSERT ON {}.schema_migrations FROM {}", s, r);
        // The dashboard's derived facts are written by the database's own
        // triggers (as the schema owner), never by the application.
        for (auto t : {"request_facts", "request_stays", "review_facts"})
          c.sql << fmt::format("REVOKE INSERT ON {}.{} FROM {}", s, t, r);
        for (auto t : updatable) c.sql << fmt::format("GRANT UPDATE ON {}.{} TO {}", s, t, r);
        c.sql << fmt::format("GRANT DELETE ON {}.project_memberships TO {}", s, r);
        c.sql << fmt::format("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}", s, r);
      });
}

}  // namespace trevor
