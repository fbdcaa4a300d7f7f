#pragma once
// What the benchmarks share: the raw drivers (sqlite3 C API, libpq) doing
// single-row commits into an identically migrated audit_events table, scratch
// databases, and timing helpers.
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <trevor/trevor.hpp>

namespace bench {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t batch_size = 1000;
inline const std::string payload = R"({"from": "DRAFT", "to": "SUBMITTED", "round": 1})";
inline const char* sqlite_insert =
    "INSERT INTO audit_events (id, actor, event_type, request_id, project_id, payload) "
    "VALUES (?1, ?2, ?3, NULL, NULL, ?4) RETURNING seq, occurred_at";
inline const char* pg_insert =
    "INSERT INTO audit_events (id, actor, event_type, request_id, project_id, payload) "
    "VALUES ($1, $2, $3, NULL, NULL, $4) RETURNING seq, occurred_at";

/// The process's peak resident set size (VmHWM) in kB.
inline long peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

inline double rate(std::size_t n, clock_type::duration d) {
  return static_cast<double>(n) / std::chrono::duration<double>(d).count();
}

/// The median of an odd number of runs (at least 3).
inline double median3(std::vector<double> v) {
  if (v.size() < 3 || v.size() % 2 == 0)
    throw std::logic_error("median3: an odd number of runs, at least 3");
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ---------------------------------------------------------------- raw SQLite
class raw_sqlite {
 public:
  explicit raw_sqlite(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("sqlite3_open");
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = NORMAL");
    exec("PRAGMA foreign_keys = ON");
    exec("PRAGMA busy_timeout = 10000");
    if (sqlite3_prepare_v2(db_, sqlite_insert, -1, &insert_, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite3_errmsg(db_));
  }
  ~raw_sqlite() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(m);
    }
  }
  void insert_one() {
    const std::string id = trevor::uuid::v7().str();
    sqlite3_bind_text(insert_, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_, 2, "system", -1, SQLITE_STATIC);
    sqlite3_bind_text(insert_, 3, "request.submitted", -1, SQLITE_STATIC);
    sqlite3_bind_text(insert_, 4, payload.c_str(), -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(insert_)) == SQLITE_ROW) {
      (void)sqlite3_column_int64(insert_, 0);
      (void)sqlite3_column_text(insert_, 1);
    }
    if (rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    sqlite3_reset(insert_);
  }
  void batch() {
    exec("BEGIN IMMEDIATE");
    for (std::size_t i = 0; i < batch_size; ++i) insert_one();
    exec("COMMIT");
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

// ---------------------------------------------------------------- raw libpq
class raw_pq {
 public:
  explicit raw_pq(const std::string& conninfo) {
    conn_ = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
    check(PQprepare(conn_, "ins", pg_insert, 4, nullptr), PGRES_COMMAND_OK);
  }
  ~raw_pq() { PQfinish(conn_); }
  void check(PGresult* r, ExecStatusType want) {
    const bool ok = PQresultStatus(r) == want;
    std::string msg = ok ? "" : PQresultErrorMessage(r);
    PQclear(r);
    if (!ok) throw std::runtime_error(msg);
  }
  void insert_one() {
    const std::string id = trevor::uuid::v7().str();
    const char* values[4] = {id.c_str(), "system", "request.submitted", payload.c_str()};
    PGresult* r = PQexecPrepared(conn_, "ins", 4, values, nullptr, nullptr, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      (void)PQgetvalue(r, 0, 0);
      (void)PQgetvalue(r, 0, 1);
    }
    check(r, PGRES_TUPLES_OK);
  }
  void batch() {
    check(PQexec(conn_, "BEGIN"), PGRES_COMMAND_OK);
    for (std::size_t i = 0; i < batch_size; ++i) insert_one();
    check(PQexec(conn_, "COMMIT"), PGRES_COMMAND_OK);
  }

 private:
  PGconn* conn_ = nullptr;
};

inline void exec_pg(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string msg = ok ? "" : PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error(msg);
}

/// Two freshly migrated databases on the engine of `url`: one for libtrevor,
/// one for the raw driver. PostgreSQL: two scratch schemas on that server,
/// dropped by the destructor; SQLite: two files in a new temporary directory.
/// With TREVOR_BENCH_KEEP set, both are kept (and named on stderr) for a look
/// at the data the benchmark made.
class scratch {
 public:
  explicit scratch(const std::string& url) {
    const auto parsed = trevor::parse_database_url(url);
    pg_ = parsed.kind == trevor::engine::postgresql;
    if (pg_) {
      const std::string suffix = trevor::uuid::v7().str().substr(24);
      lib_schema_ = "bench_lib_" + suffix;
      raw_schema_ = "bench_raw_" + suffix;
      conninfo_ = parsed.connect_string;
      exec_pg(conninfo_,
              fmt::format("CREATE SCHEMA {}; CREATE SCHEMA {}", lib_schema_, raw_schema_));
      const auto with_schema = [&](const std::string& s) {
        return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
               s;
      };
      lib_url = with_schema(lib_schema_);
      raw_url = with_schema(raw_schema_);
    } else {
      dir = std::filesystem::temp_directory_path() / ("trevor-bench-" + trevor::uuid::v7().str());
      std::filesystem::create_directories(dir);
      lib_url = "sqlite:///" + (dir / "lib.db").string();
      raw_url = "sqlite:///" + (dir / "raw.db").string();
    }
    for (const auto& u : {lib_url, raw_url}) {
      auto db = trevor::database::open(u, {.pool_size = 1});
      trevor::migrator(db).up();
    }
  }
  ~scratch() {
    if (std::getenv("TREVOR_BENCH_KEEP")) {
      std::fprintf(stderr, "kept: %s and %s\n", lib_url.c_str(), raw_url.c_str());
      return;
    }
    try {
      if (pg_)
        exec_pg(conninfo_, fmt::format("SET client_min_messages = warning; DROP SCHEMA {} CASCADE; "
                                       "DROP SCHEMA {} CASCADE",
                                       lib_schema_, raw_schema_));
      if (!dir.empty()) std::filesystem::remove_all(dir);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cleanup: %s\n", e.what());
    }
  }
  bool postgres() const { return pg_; }

  std::string lib_url, raw_url;
  std::filesystem::path dir;  // SQLite only

 private:
  bool pg_ = false;
  std::string conninfo_, lib_schema_, raw_schema_;
};

/// Raw statements through the driver (sqlite3 C API or libpq), for filling a
/// scratch database without the library.
class raw_exec {
 public:
  explicit raw_exec(const std::string& url) {
    const auto parsed = trevor::parse_database_url(url);
    if (parsed.kind == trevor::engine::postgresql) {
      pg_ = PQconnectdb(parsed.connect_string.c_str());
      if (PQstatus(pg_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(pg_));
    } else {
      if (sqlite3_open(parsed.sqlite_path.c_str(), &lite_) != SQLITE_OK)
        throw std::runtime_error("sqlite3_open");
    }
  }
  ~raw_exec() {
    if (pg_) PQfinish(pg_);
    if (lite_) sqlite3_close(lite_);
  }
  raw_exec(const raw_exec&) = delete;
  raw_exec& operator=(const raw_exec&) = delete;
  /// Runs a query and fetches every value of every row (libpq receives the
  /// whole result; SQLite's callback gets every column as text); returns the
  /// number of rows.
  std::size_t read(const std::string& sql) {
    if (pg_) {
      PGresult* r = PQexec(pg_, sql.c_str());
      const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
      const std::string msg = ok ? "" : PQresultErrorMessage(r);
      const auto rows = ok ? static_cast<std::size_t>(PQntuples(r)) : 0;
      PQclear(r);
      if (!ok) throw std::runtime_error(msg);
      return rows;
    }
    std::size_t rows = 0;
    char* err = nullptr;
    const auto each = [](void* p, int, char**, char**) -> int {
      ++*static_cast<std::size_t*>(p);
      return 0;
    };
    if (sqlite3_exec(lite_, sql.c_str(), each, &rows, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(m);
    }
    return rows;
  }

  void operator()(const std::string& sql) {
    if (pg_) {
      PGresult* r = PQexec(pg_, sql.c_str());
      const auto st = PQresultStatus(r);
      const std::string msg = PQresultErrorMessage(r);
      PQclear(r);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error(msg);
      return;
    }
    char* err = nullptr;
    if (sqlite3_exec(lite_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(m);
    }
  }

 private:
  PGconn* pg_ = nullptr;
  sqlite3* lite_ = nullptr;
};

/// The raw driver's single-row commit (one INSERT ... RETURNING, autocommit)
/// on the scratch's raw database.
class raw_driver {
 public:
  explicit raw_driver(const scratch& s) {
    const auto parsed = trevor::parse_database_url(s.raw_url);
    if (s.postgres())
      pq_ = std::make_unique<raw_pq>(parsed.connect_string);
    else
      lite_ = std::make_unique<raw_sqlite>(parsed.sqlite_path);
  }
  void insert_one() { pq_ ? pq_->insert_one() : lite_->insert_one(); }
  void batch() { pq_ ? pq_->batch() : lite_->batch(); }

 private:
  std::unique_ptr<raw_pq> pq_;
  std::unique_ptr<raw_sqlite> lite_;
};

inline clock_type::duration time_it(std::size_t n, const std::function<void()>& fn) {
  const auto t0 = clock_type::now();
  for (std::size_t i = 0; i < n; ++i) fn();
  return clock_type::now() - t0;
}

/// The raw driver's single-row commit rate with `writers` threads at once,
/// each on its own connection to the scratch's raw database, each committing
/// `rows / writers` rows: rows per second of wall time, from the moment all
/// start together until the last finishes.
inline double raw_commit_rate(const scratch& s, std::size_t writers, std::size_t rows) {
  const std::size_t each = std::max<std::size_t>(1, rows / writers);
  std::vector<std::unique_ptr<raw_driver>> drivers;
  for (std::size_t i = 0; i < writers; ++i) drivers.push_back(std::make_unique<raw_driver>(s));
  std::latch ready(static_cast<std::ptrdiff_t>(writers) + 1);
  std::vector<std::exception_ptr> errors(writers);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < writers; ++i)
    threads.emplace_back([&, i] {
      ready.arrive_and_wait();
      try {
        for (std::size_t k = 0; k < each; ++k) drivers[i]->insert_one();
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  ready.arrive_and_wait();
  const auto t0 = clock_type::now();
  for (auto& t : threads) t.join();
  const auto elapsed = clock_type::now() - t0;
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return rate(each * writers, elapsed);
}

inline void report(const char* what, double raw, double lib, double target) {
  std::printf("%-34s raw %10.0f/s   libtrevor %10.0f/s   ratio %.2f (target >= %.1f)\n", what, raw,
              lib, lib / raw, target);
}

}  // namespace bench
