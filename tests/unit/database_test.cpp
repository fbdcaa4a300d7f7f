// The connection pool and engine set-up.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "db/transaction.hpp"
#include "support.hpp"
#include "trevor/audit.hpp"
#include "trevor/migrate.hpp"

using namespace trevor;
using trevor::test::fresh_database;
using trevor::test::thrown_by;

namespace {
struct temp_dir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("trevor-test-" + uuid::v7().str());
  temp_dir() { std::filesystem::create_directories(path); }
  ~temp_dir() { std::filesystem::remove_all(path); }
};
}  // namespace

TEST_CASE("an in-memory SQLite database is one database shared by every user of the handle") {
  auto db = database::open("sqlite:///:memory:", {.pool_size = 8});
  CHECK(db.pool_size() == 1);
  migrator(db).up();
  audit_log(db).append({.actor = "system", .event_type = "project.synced"});
  // Another component, another lease: the same data.
  CHECK(audit_log(db).count() == 1);
  // A second handle is a different, empty database.
  auto other = database::open("sqlite:///:memory:");
  CHECK(migrator(other).status().applied.empty());
}

TEST_CASE("a SQLite file runs in WAL mode with foreign keys on, and concurrent writers queue") {
  temp_dir dir;
  const std::string url = "sqlite:///" + (dir.path / "t.db").string();
  auto db = database::open(url, {.pool_size = 4});
  CHECK(db.pool_size() == 4);
  migrator(db).up();
  {
    auto l = db.impl().acquire();
    std::string mode;
    int fk = 0;
    l->sql << "PRAGMA journal_mode", soci::into(mode);
    l->sql << "PRAGMA foreign_keys", soci::into(fk);
    CHECK(mode == "wal");
    CHECK(fk == 1);
  }
  // Read-then-write transactions from four threads: with a deferred BEGIN,
  // two readers upgrading to writers fail with "database is locked";
  // BEGIN IMMEDIATE makes them wait their turn.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        try {
          detail::run_transaction(db.impl(), detail::transaction::mode::write, "test",
                                  [&](detail::connection& c) {
                                    long long n = 0;
                                    c.sql << "SELECT count(*) FROM projects", soci::into(n);
                                    const std::string id = uuid::v7().str();
                                    const std::string name = fmt::format("p{}", id);
                                    c.sql << "INSERT INTO projects (id, name) VALUES (:id, :name)",
                                        soci::use(id), soci::use(name);
                                  });
        } catch (const std::exception& e) {
          ++failures;
          MESSAGE(std::string(e.what()));
        }
      }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  auto l = db.impl().acquire();
  long long n = 0;
  l->sql << "SELECT count(*) FROM projects", soci::into(n);
  CHECK(n == 100);
}

namespace {
/// Inserts a project named `name` with id `id` in a write transaction: the
/// shape of every write in the library.
void insert_project(database& db, const std::string& id, const std::string& name,
                    const std::function<void(detail::connection&)>& after = {}) {
  detail::run_transaction(db.impl(), detail::transaction::mode::write, "test insert",
                          [&](detail::connection& c) {
                            c.sql << "INSERT INTO projects (id, name) VALUES (:id, :name)",
                                soci::use(id), soci::use(name);
                            if (after) after(c);
                          });
}

/// A migrated SQLite file database in `dir` with a pool of four: one that
/// group-commits.
database open_group_db(const temp_dir& dir) {
  auto db = database::open("sqlite:///" + (dir.path / "g.db").string(), {.pool_size = 4});
  migrator(db).up();
  return db;
}

/// Every project's name, in order.
std::vector<std::string> project_names(database& db) {
  auto l = db.impl().acquire();
  soci::rowset<std::string> rows = (l->sql.prepare << "SELECT name FROM projects ORDER BY name");
  return {rows.begin(), rows.end()};
}

long long count_projects(database& db) {
  auto l = db.impl().acquire();
  long long n = 0;
  l->sql << "SELECT count(*) FROM projects", soci::into(n);
  return n;
}

/// Runs `writers` (each a write transaction) so that they all meet in ONE
/// group, in the order given: a first writer becomes the leader and waits for
/// the writer's turn, which the test holds until every one of `writers` has
/// queued behind it, one after the other.
/// Returns each writer's error message ("" when it committed).
std::vector<std::string> run_in_one_group(database& db,
                                          const std::vector<std::function<void()>>& writers,
                                          const std::string& first_name = "first") {
  auto* group = db.impl().group();
  REQUIRE(group != nullptr);
  const auto until = [](const auto& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return done();
  };
  std::unique_lock turn(*detail::sqlite_writer(db.impl()));
  std::thread first([&] { insert_project(db, uuid::v7().str(), first_name); });
  const bool leader_waits = until([&] { return group->leading(); });
  std::vector<std::string> errors(writers.size());
  std::vector<std::thread> threads;
  // One at a time, each queued before the next starts: the group runs them
  // in this order.
  bool all_queued = true;
  for (std::size_t i = 0; i < writers.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        writers[i]();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
    all_queued = until([&] { return group->queued() == i + 1; }) && all_queued;
  }
  turn.unlock();
  first.join();
  for (auto& t : threads) t.join();
  CHECK(leader_waits);
  CHECK(all_queued);
  return errors;
}
}  // namespace

TEST_CASE("SQLite group commit: writers that queue behind a transaction commit together") {
  temp_dir dir;
  auto db = open_group_db(dir);
  const auto before = db.impl().group()->stats();

  // Eight writers, each reading what the ones before it wrote: the group runs
  // them in arrival order, each seeing the others' rows as if committed.
  std::vector<long long> seen(8, -1);
  std::vector<std::function<void()>> writers;
  for (std::size_t i = 0; i < seen.size(); ++i)
    writers.emplace_back([&, i] {
      insert_project(db, uuid::v7().str(), fmt::format("w{}", i), [&, i](detail::connection& c) {
        c.sql << "SELECT count(*) FROM projects WHERE name LIKE 'w%'", soci::into(seen[i]);
      });
    });
  const auto errors = run_in_one_group(db, writers);
  for (const auto& e : errors) CHECK(e.empty());
  const auto after = db.impl().group()->stats();
  CHECK(after.largest == 8);                 // one group held all eight
  CHECK(after.groups - before.groups == 2);  // the first writer's, then theirs
  CHECK(after.members - before.members == 9);
  std::sort(seen.begin(), seen.end());
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<long long>(i + 1));
  CHECK(count_projects(db) == 9);

  // Many writers from many threads, without holding anything: all commit, once.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) try {
          const auto id = uuid::v7().str();
          insert_project(db, id, "load-" + id);
        } catch (const std::exception& e) {
          ++failures;
          MESSAGE(std::string(e.what()));
        }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(count_projects(db) == 9 + 400);

  // Turned off: every write is a transaction of its own.
  auto alone = database::open("sqlite:///" + (dir.path / "g.db").string(),
                              {.pool_size = 2, .sqlite_group_commit = false});
  CHECK(alone.impl().group() == nullptr);
  insert_project(alone, uuid::v7().str(), "alone");
  CHECK(count_projects(alone) == 410);
  // No group for PostgreSQL-like single-writer cases either: in-memory SQLite.
  auto memory = database::open("sqlite:///:memory:");
  CHECK(memory.impl().group() == nullptr);
}

TEST_CASE("SQLite group commit: a writer that fails is rolled back alone; the others commit") {
  temp_dir dir;
  auto db = open_group_db(dir);
  const std::string taken = uuid::v7().str();
  insert_project(db, taken, "taken");

  // How many times each body ran: once each, in the one group — a failure
  // does not send the others to run again.
  std::array<std::atomic<int>, 5> runs{};
  const auto counted = [&](std::size_t i, std::function<void(detail::connection&)> then = {}) {
    return [&, i, then](detail::connection& c) {
      ++runs[i];
      if (then) then(c);
    };
  };
  std::vector<std::function<void()>> writers;
  writers.emplace_back([&] { insert_project(db, uuid::v7().str(), "ok-1", counted(0)); });
  // Writes, then refuses: its row must not survive.
  writers.emplace_back([&] {
    insert_project(db, uuid::v7().str(), "refused", counted(1, [](detail::connection&) {
                     throw error(errc::conflict, "refused after writing");
                   }));
  });
  writers.emplace_back([&] { insert_project(db, uuid::v7().str(), "ok-2", counted(2)); });
  // A constraint the database enforces (the primary key): fails in the
  // INSERT, before its body's rest runs.
  writers.emplace_back([&] { insert_project(db, taken, "duplicate", counted(3)); });
  writers.emplace_back([&] { insert_project(db, uuid::v7().str(), "ok-3", counted(4)); });
  const auto errors = run_in_one_group(db, writers);
  CHECK(db.impl().group()->stats().largest == 3);  // the three that committed
  CHECK(runs[0] == 1);
  CHECK(runs[1] == 1);
  CHECK(runs[2] == 1);
  CHECK(runs[3] == 0);
  CHECK(runs[4] == 1);
  CHECK(errors[0].empty());
  CHECK(errors[1].find("refused after writing") != std::string::npos);
  CHECK(errors[2].empty());
  CHECK(errors[3].find("test insert") != std::string::npos);
  CHECK(errors[4].empty());

  CHECK(project_names(db) == std::vector<std::string>{"first", "ok-1", "ok-2", "ok-3", "taken"});
}

TEST_CASE(
    "SQLite group commit: a writer that ends the whole transaction sends the others to "
    "commit on their own, each once") {
  temp_dir dir;
  auto db = open_group_db(dir);
  std::vector<std::function<void()>> writers;
  writers.emplace_back([&] { insert_project(db, uuid::v7().str(), "before"); });
  // What SQLite does by itself on a full disk or an I/O error: the whole
  // transaction is rolled back, the group's earlier members' work with it.
  writers.emplace_back([&] {
    insert_project(db, uuid::v7().str(), "breaker", [](detail::connection& c) {
      c.exec_script("ROLLBACK");
      throw error(errc::conflict, "the transaction ended");
    });
  });
  writers.emplace_back([&] { insert_project(db, uuid::v7().str(), "after"); });
  const auto errors = run_in_one_group(db, writers);
  CHECK(db.impl().group()->stats().largest == 1);  // no group of several committed
  CHECK(errors[0].empty());
  CHECK(errors[1].find("the transaction ended") != std::string::npos);
  CHECK(errors[2].empty());
  CHECK(project_names(db) == std::vector<std::string>{"after", "before", "first"});

  // A member that failed because of an earlier member's write, in a group
  // that then broke: that write is gone, so its failure is not the answer —
  // it runs again on its own. Here the earlier member refuses when run a
  // second time, so the only row with the contested id ends up the second's.
  const std::string contested = uuid::v7().str();
  std::atomic<int> first_runs{0};
  writers.clear();
  writers.emplace_back([&] {
    insert_project(db, contested, "claimed-first", [&](detail::connection&) {
      if (++first_runs > 1) throw error(errc::conflict, "changed its mind");
    });
  });
  writers.emplace_back([&] { insert_project(db, contested, "claimed-second"); });
  writers.emplace_back([&] {
    insert_project(db, uuid::v7().str(), "breaker-2", [](detail::connection& c) {
      c.exec_script("ROLLBACK");
      throw error(errc::conflict, "the transaction ended");
    });
  });
  const auto again = run_in_one_group(db, writers, "first-2");
  // Run again on their own, the two race: the first either refuses or
  // meets the second's row; the second always commits.
  CHECK(first_runs >= 1);
  CHECK_FALSE(again[0].empty());
  CHECK(again[1].empty());
  auto l = db.impl().acquire();
  std::string name;
  l->sql << "SELECT name FROM projects WHERE id = :id", soci::use(contested), soci::into(name);
  CHECK(name == "claimed-second");
}

TEST_CASE("SQLite group commit: a write transaction inside another's body is refused, not hung") {
  temp_dir dir;
  auto db = open_group_db(dir);
  std::string inner_error;
  insert_project(db, uuid::v7().str(), "outer", [&](detail::connection&) {
    try {
      insert_project(db, uuid::v7().str(), "inner");
    } catch (const error& e) {
      CHECK(e.code() == errc::internal);
      inner_error = e.what();
    }
  });
  CHECK(inner_error.find("inside another") != std::string::npos);
  CHECK(count_projects(db) == 1);
}

TEST_CASE("a second process's view: a file database opened twice sees one schema") {
  temp_dir dir;
  const std::string url = "sqlite:///" + (dir.path / "shared.db").string();
  auto a = database::open(url);
  migrator(a).up();
  auto b = database::open(url);
  CHECK(migrator(b).status().current());
  audit_log(a).append({.actor = "system", .event_type = "project.synced"});
  CHECK(audit_log(b).count() == 1);
}

TEST_CASE("a pool with no free connection gives up after the acquire timeout") {
  fresh_database f(false, 1);
  auto db =
      database::open(f.url(), {.pool_size = 1, .acquire_timeout = std::chrono::milliseconds(100)});
  auto held = db.impl().acquire();
  CHECK(db.in_use() == 1);
  const auto started = std::chrono::steady_clock::now();
  const auto e = thrown_by([&] { db.ping(); });
  CHECK(e.code() == errc::unavailable);
  CHECK(std::string(e.what()).find("no database connection free after 100 ms") !=
        std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("unreachable servers and unopenable files fail fast with one clear line") {
  const auto started = std::chrono::steady_clock::now();
  auto e = thrown_by(
      [] { database::open("postgresql://app:hunter2@127.0.0.1:1/trevor?connect_timeout=2"); });
  CHECK(e.code() == errc::unavailable);
  const std::string msg = e.what();
  CHECK(msg.starts_with("cannot connect to postgresql://app:***@127.0.0.1:1/trevor: "));
  CHECK(msg.find("hunter2") == std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));

  e = thrown_by([] { database::open("sqlite:////nonexistent-dir/trevor/x.db"); });
  CHECK(e.code() == errc::unavailable);
  CHECK(std::string(e.what()).starts_with(
      "cannot connect to sqlite:////nonexistent-dir/trevor/x.db"));
}

TEST_CASE("a wrong password is reported as such, without the password" *
          doctest::skip(!trevor::test::on_postgres())) {
  std::string url = trevor::test::postgres_admin_url();
  const auto scheme_end = url.find("://") + 3;
  const auto at = url.find('@', scheme_end);
  url = url.substr(0, scheme_end) + "postgres:not-the-password" + url.substr(at);
  const auto e = thrown_by([&] { database::open(url); });
  CHECK(e.code() == errc::unavailable);
  CHECK(std::string(e.what()).find("password authentication failed") != std::string::npos);
  CHECK(std::string(e.what()).find("not-the-password") == std::string::npos);
}

TEST_CASE("ping answers on a live database") {
  fresh_database f;
  CHECK_NOTHROW(f.db().ping());
  CHECK(f.db().in_use() == 0);
}

TEST_CASE("a failed transaction rolls back everything it wrote") {
  fresh_database f;
  const auto e = thrown_by([&] {
    detail::run_transaction(
        f.db().impl(), detail::transaction::mode::write, "test", [](detail::connection& c) {
          c.sql << "INSERT INTO projects (id, name) VALUES ('" + uuid::v7().str() + "', 'first')";
          c.sql << "INSERT INTO projects (id, name) VALUES ('" + uuid::v7().str() +
                       "', 'first')";  // duplicate
        });
  });
  CHECK(e.code() == errc::conflict);
  CHECK(std::string(e.what()).starts_with("test: "));
  CHECK(f.count("SELECT count(*) FROM projects") == 0);
  CHECK(f.db().in_use() == 0);
}

TEST_CASE("a connection the server dropped is replaced on next use" *
          doctest::skip(!trevor::test::on_postgres())) {
  fresh_database f(false, 1);
  int pid = 0;
  {
    auto l = f.db().impl().acquire();
    l->sql << "SELECT pg_backend_pid()", soci::into(pid);
  }
  f.exec("SELECT 1");  // the pool's only connection is the one with that pid
  {
    auto admin = database::open(trevor::test::postgres_admin_url(), {.pool_size = 1});
    auto l = admin.impl().acquire();
    int done = 0;
    l->sql << "SELECT CASE WHEN pg_terminate_backend(:pid) THEN 1 ELSE 0 END", soci::use(pid),
        soci::into(done);
    REQUIRE(done == 1);
  }
  // The read that meets the dead connection re-opens it and runs again there.
  CHECK_NOTHROW(f.db().ping());
  auto l = f.db().impl().acquire();
  int new_pid = 0;
  l->sql << "SELECT pg_backend_pid()", soci::into(new_pid);
  CHECK(new_pid != pid);
}

namespace {
// Ends the server session behind every connection whose pid is listed, as a
// PostgreSQL restart or an idle-session timeout would.
void terminate_backends(const std::vector<int>& pids) {
  auto admin = database::open(trevor::test::postgres_admin_url(), {.pool_size = 1});
  auto l = admin.impl().acquire();
  for (int pid : pids) {
    int done = 0;
    l->sql << "SELECT CASE WHEN pg_terminate_backend(:pid) THEN 1 ELSE 0 END", soci::use(pid),
        soci::into(done);
    REQUIRE(done == 1);
  }
}

int backend_pid(database& db) {
  return detail::run_transaction(db.impl(), detail::transaction::mode::read, "test",
                                 [](detail::connection& c) {
                                   int pid = 0;
                                   c.sql << "SELECT pg_backend_pid()", soci::into(pid);
                                   return pid;
                                 });
}
}  // namespace

TEST_CASE("a transaction that meets a dropped connection runs once more on a fresh one" *
          doctest::skip(!trevor::test::on_postgres())) {
  fresh_database f(false, 1);
  f.exec("CREATE TABLE lost_and_found (x INTEGER)");
  // Idle validation off: the transaction itself meets the dead session.
  auto db = database::open(f.url(), {.pool_size = 1, .validate_idle_after = std::chrono::hours(1)});
  const int pid = backend_pid(db);
  terminate_backends({pid});

  const int new_pid = detail::run_transaction(
      db.impl(), detail::transaction::mode::write, "test", [](detail::connection& c) {
        c.sql << "INSERT INTO lost_and_found (x) VALUES (1)";
        int p = 0;
        c.sql << "SELECT pg_backend_pid()", soci::into(p);
        return p;
      });
  CHECK(new_pid != pid);
  // Applied exactly once: the first attempt died with its session.
  CHECK(f.count("SELECT count(*) FROM lost_and_found") == 1);
}

TEST_CASE("a one-statement read that meets a dropped connection runs once more; a write does not" *
          doctest::skip(!trevor::test::on_postgres())) {
  fresh_database f(false, 1);
  f.exec("CREATE TABLE lost_writes (x INTEGER)");
  auto db = database::open(f.url(), {.pool_size = 1, .validate_idle_after = std::chrono::hours(1)});
  const auto pid_of = [](detail::connection& c) {
    int p = 0;
    c.sql << "SELECT pg_backend_pid()", soci::into(p);
    return p;
  };
  const int pid = detail::run_statement(db.impl(), "test", pid_of);
  terminate_backends({pid});
  const int new_pid = detail::run_statement(db.impl(), "test", pid_of);
  CHECK(new_pid != pid);

  // A lone write may have committed before its connection was lost: the
  // caller is told, and nothing is run twice.
  terminate_backends({new_pid});
  const auto e = thrown_by([&] {
    detail::run_statement(
        db.impl(), "test",
        [](detail::connection& c) { c.sql << "INSERT INTO lost_writes (x) VALUES (1)"; },
        detail::statement_kind::write);
  });
  CHECK(e.code() == errc::unavailable);
  CHECK(f.count("SELECT count(*) FROM lost_writes") == 0);
  // The connection was marked: the next operation gets a fresh one.
  CHECK(detail::run_statement(db.impl(), "test", pid_of) != new_pid);
}

TEST_CASE("a PostgreSQL connection idle past validate_idle_after is checked before it is lent" *
          doctest::skip(!trevor::test::on_postgres())) {
  fresh_database f(false, 1);
  auto db = database::open(f.url(),
                           {.pool_size = 1, .validate_idle_after = std::chrono::milliseconds(0)});
  const int pid = backend_pid(db);
  terminate_backends({pid});
  // A single statement (no transaction, never retried) succeeds: the lease
  // found the session gone and re-opened it first.
  CHECK_NOTHROW(db.ping());
  CHECK(backend_pid(db) != pid);
}
