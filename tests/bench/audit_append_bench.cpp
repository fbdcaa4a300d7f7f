// Audit append rate, libtrevor against the raw driver doing the same inserts
// in the same run, on one engine:
//
//   audit_append_bench DATABASE_URL [SINGLE_COUNT] [BATCHES]
//
// DATABASE_URL picks the engine. PostgreSQL: the server and database to use
// (two scratch schemas are created there and dropped after). SQLite: only the
// engine is taken; the two database files live in a new temporary directory.
//
// Both sides insert into an identically migrated audit_events table (its own
// schema or file each), with the same statement (INSERT ... RETURNING seq,
// occurred_at), fresh UUIDv7 ids and the same payload. "single" is one event
// per transaction (autocommit); "batch" is 1000 events in one transaction.
// Each measurement is repeated three times, alternating sides, and the median
// reported.
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <trevor/trevor.hpp>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t batch_size = 1000;
const std::string payload = R"({"from": "DRAFT", "to": "SUBMITTED", "round": 1})";
const char* sqlite_insert =
    "INSERT INTO audit_events (id, actor, event_type, request_id, project_id, payload) "
    "VALUES (?1, ?2, ?3, NULL, NULL, ?4) RETURNING seq, occurred_at";
const char* pg_insert =
    "INSERT INTO audit_events (id, actor, event_type, request_id, project_id, payload) "
    "VALUES ($1, $2, $3, NULL, NULL, $4) RETURNING seq, occurred_at";

double rate(std::size_t n, clock_type::duration d) {
  return static_cast<double>(n) / std::chrono::duration<double>(d).count();
}

double median3(std::vector<double> v) {
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

struct side {
  std::function<void()> single;
  std::function<void()> batch;
};

}  // namespace

void exec_pg(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string msg = ok ? "" : PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error(msg);
}

void report(const char* what, double raw, double lib, double target) {
  std::printf("%-34s raw %10.0f/s   libtrevor %10.0f/s   ratio %.2f (target >= %.1f)\n", what, raw,
              lib, lib / raw, target);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: audit_append_bench DATABASE_URL [SINGLE_COUNT] [BATCHES]\n");
    return 2;
  }
  const std::string url = argv[1];
  const std::size_t singles = argc > 2 ? std::stoul(argv[2]) : 3000;
  const std::size_t batches = argc > 3 ? std::stoul(argv[3]) : 10;
  std::string lib_url, raw_target, cleanup_conninfo, lib_schema, raw_schema;
  std::filesystem::path dir;
  try {
    const auto parsed = trevor::parse_database_url(url);
    const bool pg = parsed.kind == trevor::engine::postgresql;
    if (pg) {
      const std::string suffix = trevor::uuid::v7().str().substr(24);
      lib_schema = "bench_lib_" + suffix;
      raw_schema = "bench_raw_" + suffix;
      cleanup_conninfo = parsed.connect_string;
      exec_pg(cleanup_conninfo,
              fmt::format("CREATE SCHEMA {}; CREATE SCHEMA {}", lib_schema, raw_schema));
      const auto with_schema = [&](const std::string& s) {
        return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
               s;
      };
      lib_url = with_schema(lib_schema);
      raw_target = with_schema(raw_schema);
    } else {
      dir = std::filesystem::temp_directory_path() / ("trevor-bench-" + trevor::uuid::v7().str());
      std::filesystem::create_directories(dir);
      lib_url = "sqlite:///" + (dir / "lib.db").string();
      raw_target = "sqlite:///" + (dir / "raw.db").string();
    }
    auto lib_db = trevor::database::open(lib_url, {.pool_size = 1});
    trevor::migrator(lib_db).up();
    {
      auto raw_db = trevor::database::open(raw_target, {.pool_size = 1});
      trevor::migrator(raw_db).up();
    }
    trevor::audit_log log(lib_db);
    const trevor::audit_event_input event{
        .actor = "system", .event_type = "request.submitted", .payload_json = payload};
    const std::vector<trevor::audit_event_input> batch(batch_size, event);

    side lib{[&] { log.append(event); }, [&] { log.append_many(batch); }};
    std::unique_ptr<raw_sqlite> rs;
    std::unique_ptr<raw_pq> rp;
    side raw;
    if (pg) {
      rp = std::make_unique<raw_pq>(trevor::parse_database_url(raw_target).connect_string);
      raw = {[&] { rp->insert_one(); }, [&] { rp->batch(); }};
    } else {
      rs = std::make_unique<raw_sqlite>(trevor::parse_database_url(raw_target).sqlite_path);
      raw = {[&] { rs->insert_one(); }, [&] { rs->batch(); }};
    }
    const auto time_it = [](std::size_t n, const std::function<void()>& fn) {
      const auto t0 = clock_type::now();
      for (std::size_t i = 0; i < n; ++i) fn();
      return clock_type::now() - t0;
    };
    // Warm up both sides (page cache, prepared statements).
    time_it(200, raw.single);
    time_it(200, lib.single);
    std::vector<double> raw_single, lib_single, raw_batch, lib_batch;
    for (int round = 0; round < 3; ++round) {
      raw_single.push_back(rate(singles, time_it(singles, raw.single)));
      lib_single.push_back(rate(singles, time_it(singles, lib.single)));
      raw_batch.push_back(rate(batches * batch_size, time_it(batches, raw.batch)));
      lib_batch.push_back(rate(batches * batch_size, time_it(batches, lib.batch)));
    }
    std::printf("audit append on %s (%zu single appends, %zu batches of %zu; median of 3 rounds)\n",
                pg ? "PostgreSQL" : "SQLite (WAL, synchronous=NORMAL)", singles, batches,
                batch_size);
    report("one event per transaction", median3(raw_single), median3(lib_single), 0.8);
    report("1000 events per transaction", median3(raw_batch), median3(lib_batch), 0.7);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "audit_append_bench: %s\n", e.what());
    return 1;
  }
  if (!cleanup_conninfo.empty())
    exec_pg(cleanup_conninfo,
            fmt::format(
                "SET client_min_messages = warning; DROP SCHEMA {} CASCADE; DROP SCHEMA {} CASCADE",
                lib_schema, raw_schema));
  if (!dir.empty()) std::filesystem::remove_all(dir);
  return 0;
}
