#include "db/connection.hpp"

#include "db/commit_group.hpp"

#include <map>
#include <memory>
#include <mutex>

#include "db/transaction.hpp"

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <cctype>

#include <fmt/format.h>

#include "db/errors.hpp"
#include "db/transaction.hpp"
#include "trevor/error.hpp"

namespace trevor::detail {
namespace {

const soci::backend_factory& factory(engine e) {
  return e == engine::sqlite
             ? static_cast<const soci::backend_factory&>(*soci::factory_sqlite3())
             : static_cast<const soci::backend_factory&>(*soci::factory_postgresql());
}

std::string first_line(std::string s) {
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// A driver's connection failure as one line: SOCI's generic first line is
// dropped and libpq's lines are trimmed and joined with "; ".
std::string one_line_reason(std::string_view s) {
  constexpr std::string_view generic = "Cannot establish connection to the database.";
  if (s.starts_with(generic)) s.remove_prefix(generic.size());
  std::string out;
  while (!s.empty()) {
    const auto nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
      line.remove_prefix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
      line.remove_suffix(1);
    if (line.empty()) continue;
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out.empty() ? "no reason given" : out;
}

}  // namespace

connection::connection(const database_url& url, const database_options& options)
    : kind_(url.kind), options_(options), file_backed_(!url.in_memory()) {
  try {
    sql.open(factory(kind_), url.connect_string);
  } catch (const std::exception& e) {
    throw error(errc::unavailable,
                fmt::format("cannot connect to {}: {}", url.redacted, one_line_reason(e.what())));
  }
  configure();
}

void connection::configure() {
  try {
    if (kind_ == engine::sqlite) {
      sql << fmt::format("PRAGMA busy_timeout = {}", options_.sqlite_busy_timeout.count());
      sql << "PRAGMA foreign_keys = ON";
      if (file_backed_) {
        // journal_mode returns a row; read it so SQLite applies the pragma.
        std::string mode;
        sql << "PRAGMA journal_mode = WAL", soci::into(mode);
      }
      sql << "PRAGMA synchronous = NORMAL";
    } else {
      sql << "SET TIME ZONE 'UTC'";
      // NOTICEs ("relation already exists, skipping") are not errors; keep stderr clean.
      sql << "SET client_min_messages = warning";
      // The dashboard's statements cross jit_above_cost on large tables, and
      // compiling them took 40-70 ms of a 500 ms query for nothing: every
      // statement of the library is short-lived.
      sql << "SET jit = off";
    }
  } catch (...) {
    rethrow_translated("configuring the connection");
  }
}

void connection::reconnect() {
  by_key_.clear();
  try {
    sql.reconnect();
  } catch (const std::exception& e) {
    // The session has no backend now: whoever borrows it next reconnects first.
    suspect_ = true;
    throw error(errc::unavailable, fmt::format("cannot reconnect: {}", one_line_reason(e.what())));
  }
  configure();
}

bool connection::in_transaction() {
  if (kind_ == engine::sqlite) {
    auto* be = static_cast<soci::sqlite3_session_backend*>(sql.get_backend());
    return sqlite_api::sqlite3_get_autocommit(be->conn_) == 0;
  }
  auto* be = static_cast<soci::postgresql_session_backend*>(sql.get_backend());
  return be && PQtransactionStatus(be->conn_) != PQTRANS_IDLE;
}

bool connection::alive() {
  if (kind_ == engine::sqlite) return true;
  auto* be = static_cast<soci::postgresql_session_backend*>(sql.get_backend());
  if (!be || PQstatus(be->conn_) != CONNECTION_OK) return false;  // none after a failed reconnect
  PGresult* res = PQexec(be->conn_, "");
  const bool ok = res && PQresultStatus(res) == PGRES_EMPTY_QUERY;
  PQclear(res);
  return ok && PQstatus(be->conn_) == CONNECTION_OK;
}

bool connection::revive_if_suspect() {
  if (!suspect_) return false;
  const bool lost = !alive();
  if (lost) reconnect();  // throws unavailable while the server is away
  suspect_ = false;
  return lost;
}

void connection::exec_script(const std::string& script) {
  if (kind_ == engine::sqlite) {
    auto* be = static_cast<soci::sqlite3_session_backend*>(sql.get_backend());
    char* message = nullptr;
    const int rc = sqlite_api::sqlite3_exec(be->conn_, script.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
      std::string text = message ? message : sqlite_api::sqlite3_errstr(rc);
      sqlite_api::sqlite3_free(message);
      throw from_sqlite(sqlite_api::sqlite3_extended_errcode(be->conn_), "", text);
    }
    return;
  }
  auto* be = static_cast<soci::postgresql_session_backend*>(sql.get_backend());
  PGresult* res = PQexec(be->conn_, script.c_str());
  const auto status = PQresultStatus(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const std::string text =
        first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(be->conn_));
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    // No SQLSTATE means libpq lost the connection.
    const std::string code = state ? state : "08006";
    PQclear(res);
    throw from_sqlstate(code, "", text.starts_with("ERROR:  ") ? text.substr(8) : text);
  }
  PQclear(res);
}

// ---------------------------------------------------------------- the pool

lease::~lease() {
  if (c_) owner_->release(c_);
}

database_impl::database_impl(database_url url, const database_options& options)
    : url_(std::move(url)), options_(options) {
  std::size_t n = options.pool_size == 0 ? 1 : options.pool_size;
  if (url_.in_memory()) n = 1;  // one private database: every user shares it
  all_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    all_.push_back(std::make_unique<connection>(url_, options_));
    idle_.push_back(all_.back().get());
  }
  if (options_.sqlite_group_commit && sqlite_writer(*this) != nullptr)
    group_ = std::make_unique<commit_group>();
}

database_impl::~database_impl() = default;

lease database_impl::acquire() {
  std::unique_lock lock(mutex_);
  if (!available_.wait_for(lock, options_.acquire_timeout, [&] { return !idle_.empty(); }))
    throw error(errc::unavailable,
                fmt::format("no database connection free after {} ms (pool of {})",
                            options_.acquire_timeout.count(), all_.size()));
  connection* c = idle_.back();
  idle_.pop_back();
  lock.unlock();
  lease l(this, c);
  // A PostgreSQL connection that sat idle may have been dropped by a server
  // restart or an idle timeout: check it before lending it, so that the
  // operation does not fail on it.
  if (kind() == engine::postgresql &&
      std::chrono::steady_clock::now() - c->last_released() >= options_.validate_idle_after)
    c->mark_suspect();
  c->revive_if_suspect();  // throws unavailable; the lease returns the connection
  return l;
}

void database_impl::release(connection* c) noexcept {
  c->set_released(std::chrono::steady_clock::now());
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(c);
  }
  available_.notify_one();
}

std::size_t database_impl::in_use() const {
  std::lock_guard lock(mutex_);
  return all_.size() - idle_.size();
}

std::timed_mutex* sqlite_writer(const database_impl& db) {
  const auto& path = db.url().sqlite_path;
  if (db.kind() != engine::sqlite || path.empty() || path == ":memory:" ||
      path.find("mode=memory") != std::string::npos || path.starts_with("file::memory:"))
    return nullptr;
  static std::mutex guard;
  static std::map<std::string, std::unique_ptr<std::timed_mutex>> by_file;
  std::lock_guard lock(guard);
  auto& m = by_file[path];
  if (!m) m = std::make_unique<std::timed_mutex>();
  return m.get();
}

}  // namespace trevor::detail

namespace trevor {

database database::open(std::string_view url, const database_options& options) {
  return database(std::make_shared<detail::database_impl>(parse_database_url(url), options));
}

engine database::kind() const noexcept {
  return impl_->kind();
}
const database_url& database::url() const noexcept {
  return impl_->url();
}
std::size_t database::pool_size() const noexcept {
  return impl_->size();
}
std::size_t database::in_use() const noexcept {
  return impl_->in_use();
}

database::group_commit_counts database::group_commits() const {
  const auto* g = impl_->group();
  if (!g) return {};
  const auto s = g->stats();
  return {s.groups, s.members};
}

void database::ping() const {
  try {
    detail::run_statement(*impl_, "ping", [](detail::connection& c) {
      int one = 0;
      c.sql << "SELECT 1", soci::into(one);
    });
  } catch (const error& e) {
    if (e.code() == errc::unavailable) throw;
    throw error(errc::unavailable, e.what());
  }
}

}  // namespace trevor
