// The migrator: status, up, verify, plan, and refusing a database it does not know.
#include <doctest/doctest.h>

#include <algorithm>

#include "support.hpp"
#include "trevor/migrate.hpp"

using namespace trevor;
using trevor::test::fresh_database;
using trevor::test::thrown_by;

namespace {
bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("the build knows its migrations in order, each with a SHA-256 checksum") {
  const auto& known = migrator::known();
  REQUIRE(!known.empty());
  CHECK(known.front().id == 1);
  CHECK(known.front().name == "initial");
  for (std::size_t i = 0; i < known.size(); ++i) {
    CHECK(known[i].checksum.size() == 64);
    CHECK(known[i].checksum.find_first_not_of("0123456789abcdef") == std::string::npos);
    if (i) CHECK(known[i].id > known[i - 1].id);
  }
}

TEST_CASE("engine sections and placeholders are resolved per engine") {
  const std::string sqlite = migrator::sql_for(1, engine::sqlite);
  const std::string pg = migrator::sql_for(1, engine::postgresql);
  for (const auto& sql : {sqlite, pg}) {
    for (const char* placeholder :
         {"{uuid}", "{ts}", "{json}", "{bool}", "{now}", "{true}", "{false}"})
      CHECK_MESSAGE(!contains(sql, placeholder), placeholder);
    CHECK(contains(sql, "CREATE TABLE audit_events"));
  }
  CHECK(contains(pg, "TIMESTAMPTZ"));
  CHECK(contains(pg, "GENERATED ALWAYS AS IDENTITY"));
  CHECK(!contains(pg, "AUTOINCREMENT"));
  CHECK(contains(sqlite, "AUTOINCREMENT"));
  CHECK(contains(sqlite, "strftime("));
  CHECK(!contains(sqlite, "plpgsql"));
}

TEST_CASE("an empty database has every migration pending; up applies them once") {
  fresh_database f(false);
  migrator m(f.db());
  auto report = m.status();
  CHECK(report.applied.empty());
  CHECK(report.pending.size() == migrator::known().size());
  CHECK(report.problems.empty());
  CHECK(!report.current());
  CHECK(contains(m.plan(), "-- migration 0001_initial (sha256 "));

  const auto applied = m.up();
  CHECK(applied.size() == migrator::known().size());
  report = m.status();
  CHECK(report.current());
  REQUIRE(report.applied.size() == migrator::known().size());
  CHECK(report.applied[0].checksum == migrator::known()[0].checksum);
  CHECK(report.applied[0].name == "initial");
  CHECK(report.applied[0].duration_ms >= 0);
  CHECK(f.count("SELECT count(*) FROM schema_migrations") ==
        static_cast<long long>(migrator::known().size()));

  CHECK(m.up().empty());  // idempotent
  CHECK(m.plan().empty());
  CHECK_NOTHROW(m.verify());
}

TEST_CASE("a drifted checksum is refused, naming the migration") {
  fresh_database f;
  f.exec("UPDATE schema_migrations SET checksum = 'abc' WHERE id = 1");
  migrator m(f.db());
  const auto report = m.status();
  REQUIRE(report.problems.size() == 1);
  CHECK(
      contains(report.problems[0], "migration 0001_initial differs: checksum abc in the database"));
  const auto e = thrown_by([&] { m.verify(); });
  CHECK(e.code() == errc::conflict);
  CHECK(contains(e.what(), "0001_initial"));
  CHECK(thrown_by([&] { m.up(); }).code() == errc::conflict);
  CHECK(thrown_by([&] { (void)m.plan(); }).code() == errc::conflict);
}

TEST_CASE("a migration unknown to this build (a newer trevor) is refused, naming it") {
  fresh_database f;
  f.exec(
      "INSERT INTO schema_migrations (id, name, checksum, duration_ms) VALUES (9999, 'future', "
      "'x', 0)");
  migrator m(f.db());
  const auto report = m.status();
  REQUIRE(report.problems.size() == 1);
  CHECK(contains(report.problems[0], "9999_future"));
  CHECK(contains(report.problems[0], "does not know"));
  const auto e = thrown_by([&] { m.up(); });
  CHECK(e.code() == errc::conflict);
  CHECK(contains(e.what(), "9999_future"));
}

TEST_CASE("a failed migration leaves no trace") {
  fresh_database f(false);
  // A table in the way of a statement in the middle of migration 0001.
  f.exec("CREATE TABLE notifications (x INTEGER)");
  migrator m(f.db());
  const auto e = thrown_by([&] { m.up(); });
  CHECK(e.code() == errc::internal);
  CHECK(contains(e.what(), "migration 0001_initial failed and was rolled back"));
  // The tables created before the failing statement were rolled back too.
  const std::string users_exist =
      f.db().kind() == engine::sqlite
          ? "SELECT count(*) FROM sqlite_master WHERE name = 'users'"
          : "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_name = 'users'";
  CHECK(f.count(users_exist) == 0);
  CHECK(f.count("SELECT count(*) FROM schema_migrations") == 0);
  // Once the obstacle is gone the same migration applies.
  f.exec("DROP TABLE notifications");
  CHECK(m.up().size() == migrator::known().size());
  CHECK(f.count(users_exist) == 1);
}

TEST_CASE("status on a database without schema_migrations changes nothing") {
  fresh_database f(false);
  migrator m(f.db());
  (void)m.status();
  const std::string exists =
      f.db().kind() == engine::sqlite
          ? "SELECT count(*) FROM sqlite_master WHERE name = 'schema_migrations'"
          : "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_name = 'schema_migrations'";
  CHECK(f.count(exists) == 0);
}
