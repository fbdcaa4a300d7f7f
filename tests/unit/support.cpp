#include "support.hpp"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <soci/postgresql/soci-postgresql.h>

#include "db/dialect.hpp"
#include "db/errors.hpp"
#include "trevor/migrate.hpp"
#include "trevor/uuid.hpp"

namespace trevor::test {

namespace {
std::string env_url() {
  const char* v = std::getenv("TREVOR_TEST_DATABASE_URL");
  return v ? v : "";
}

std::mutex admin_mutex;

void admin_exec(const std::string& sql) {
  std::lock_guard lock(admin_mutex);
  static soci::session admin(*soci::factory_postgresql(),
                             parse_database_url(postgres_admin_url()).connect_string +
                                 " options='-c client_min_messages=warning'");
  admin << sql;
}
}  // namespace

engine test_engine() {
  static const engine e = [] {
    const std::string url = env_url();
    return url.empty() ? engine::sqlite : parse_database_url(url).kind;
  }();
  return e;
}

std::string postgres_admin_url() {
  return env_url();
}

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "trevor-test.XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

fresh_database::fresh_database(bool migrated, std::size_t pool_size, bool sqlite_file,
                               std::optional<engine> on) {
  if (on.value_or(test_engine()) == engine::postgresql) {
    if (!on_postgres()) throw std::runtime_error("PostgreSQL asked for in a SQLite run");
    schema_ = "t_" + uuid::v7().str().substr(24);
    admin_exec("CREATE SCHEMA " + schema_);
    const std::string base = postgres_admin_url();
    url_ = base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
           schema_ + "&application_name=trevor-tests";
  } else if (sqlite_file) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "trevor-test-db.XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    url_ = "sqlite:///" + dir_ + "/test.db";
  } else {
    url_ = "sqlite:///:memory:";
  }
  db_ = std::make_unique<database>(database::open(url_, {.pool_size = pool_size}));
  if (migrated) migrator(*db_).up();
}

fresh_database::~fresh_database() {
  db_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  if (!schema_.empty()) {
    try {
      admin_exec("DROP SCHEMA " + schema_ + " CASCADE");
    } catch (const std::exception& e) {
      MESSAGE("could not drop test schema " << schema_ << ": " << e.what());
    }
  }
}

void fresh_database::exec(const std::string& sql) {
  auto l = db_->impl().acquire();
  try {
    l->sql << sql;
  } catch (...) {
    detail::rethrow_translated("test exec");
  }
}

error fresh_database::exec_fails(const std::string& sql) {
  auto l = db_->impl().acquire();
  try {
    l->sql << sql;
  } catch (...) {
    return detail::translate_current_exception("");
  }
  FAIL("statement succeeded but should have been refused: " << sql);
  return error(errc::internal, "unreachable");
}

long long fresh_database::count(const std::string& sql) {
  auto l = db_->impl().acquire();
  long long n = -1;
  l->sql << sql, soci::into(n);
  return n;
}

long long facts_disagreeing_with_trail(fresh_database& f) {
  const engine e = f.db().kind();
  // Derived here with joins and a window function, independently of the
  // triggers' incremental steps.
  const std::string derived_facts = detail::expand_sql(
      "SELECT r.id, r.project_id, r.direction, r.status, r.review_round, {us:r.created_at}, "
      "{us:r.submitted_at}, s.first_us, h.first_us, CASE WHEN r.status = 'CHANGES_REQUESTED' "
      "THEN {us:r.updated_at} ELSE {us:r.closed_at} END, coalesce(o.n, 0), "
      "coalesce(o.approved, 0) FROM airlock_requests r "
      "LEFT JOIN (SELECT request_id, min({us:occurred_at}) AS first_us FROM audit_events "
      "WHERE event_type = 'request.submitted' GROUP BY request_id) s ON s.request_id = r.id "
      "LEFT JOIN (SELECT request_id, min({us:created_at}) AS first_us FROM reviews "
      "WHERE reviewer_type = 'human' GROUP BY request_id) h ON h.request_id = r.id "
      "LEFT JOIN (SELECT request_id, count(*) AS n, sum(CASE WHEN state = 'APPROVED' THEN 1 "
      "ELSE 0 END) AS approved FROM output_objects GROUP BY request_id) o "
      "ON o.request_id = r.id",
      e);
  const std::string kept_facts =
      "SELECT request_id, project_id, direction, status, review_round, created_us, submitted_us, "
      "first_submitted_us, first_human_review_us, decided_us, objects, objects_approved "
      "FROM request_facts";
  const std::string derived_stays = detail::expand_sql(
      "SELECT request_id, at_us, seq, state, lead(at_us) OVER (PARTITION BY request_id "
      "ORDER BY at_us, seq) FROM (SELECT request_id, {us:occurred_at} AS at_us, seq, "
      "payload ->> 'to' AS state FROM audit_events WHERE request_id IS NOT NULL "
      "AND event_type LIKE 'request.%' AND (payload ->> 'to') IS NOT NULL) e",
      e);
  const std::string kept_stays =
      "SELECT request_id, entered_us, event_seq, state, left_us FROM request_stays";
  const std::string derived_reviews = detail::expand_sql(
      "SELECT v.id, v.request_id, r.project_id, v.reviewer_id, v.round, v.decision, "
      "v.accepted_agent_findings, {us:v.created_at}, st.at_us, CASE WHEN ag.id IS NULL THEN "
      "{false} ELSE {true} END FROM reviews v JOIN airlock_requests r ON r.id = v.request_id "
      "LEFT JOIN (SELECT request_id, {us:occurred_at} AS at_us, row_number() OVER (PARTITION BY "
      "request_id ORDER BY occurred_at, seq) AS k FROM audit_events WHERE event_type IN "
      "('request.submitted', 'request.resubmitted')) st ON st.request_id = v.request_id "
      "AND st.k = v.round LEFT JOIN reviews ag ON ag.request_id = v.request_id "
      "AND ag.round = v.round AND ag.reviewer_type = 'agent' AND ag.decision = 'approved' "
      "WHERE v.reviewer_type = 'human'",
      e);
  const std::string kept_reviews =
      "SELECT review_id, request_id, project_id, reviewer_id, round, decision, "
      "accepted_agent_findings, created_us, round_started_us, agent_approved FROM review_facts";
  const auto differ = [&](const std::string& a, const std::string& b) {
    return f.count("SELECT count(*) FROM (" + a + " EXCEPT " + b + ") d");
  };
  return differ(derived_facts, kept_facts) + differ(kept_facts, derived_facts) +
         differ(derived_stays, kept_stays) + differ(kept_stays, derived_stays) +
         differ(derived_reviews, kept_reviews) + differ(kept_reviews, derived_reviews);
}

std::string fresh_database::text(const std::string& sql) {
  auto l = db_->impl().acquire();
  std::string s;
  l->sql << sql, soci::into(s);
  return s;
}

error thrown_by(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const error& e) {
    return e;
  }
  FAIL("expected a trevor::error, but nothing was thrown");
  return error(errc::internal, "unreachable");
}

bool rewrite_requested(const char* variable) {
  if (!std::getenv(variable)) return false;
  const char* ci = std::getenv("CI");
  if (ci && *ci) {
    const std::string why = std::string(variable) + " is set in a CI run (CI=" + ci +
                            "): CI compares with the reference and never rewrites it";
    FAIL(why);
  }
  return true;
}

std::size_t files_under(const std::filesystem::path& root) {
  if (!std::filesystem::exists(root)) return 0;
  std::size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file()) ++n;
  return n;
}

}  // namespace trevor::test
