// Plain values: UUIDs, timestamps, enum names, DATABASE_URL, TREVOR_ENV.
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "db/dialect.hpp"
#include "support.hpp"
#include "trevor/database_url.hpp"
#include "trevor/enums.hpp"
#include "trevor/environment.hpp"
#include "trevor/time.hpp"
#include "trevor/uuid.hpp"

using namespace trevor;
using trevor::test::thrown_by;

TEST_CASE("uuid v7 has version 7, the RFC variant, a time prefix, and is unique") {
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::set<uuid> seen;
  for (int i = 0; i < 2000; ++i) {
    const uuid u = uuid::v7();
    CHECK(u.version() == 7);
    CHECK((u.bytes()[8] & 0xc0) == 0x80);
    seen.insert(u);
  }
  CHECK(seen.size() == 2000);
  const uuid u = uuid::v7();
  long long ms = 0;
  for (int i = 0; i < 6; ++i) ms = ms * 256 + u.bytes()[static_cast<std::size_t>(i)];
  CHECK(ms >= before);
  CHECK(ms <= before + 60'000);
}

TEST_CASE("uuid v7 from one process strictly increase, even within a millisecond") {
  uuid prev = uuid::v7();
  for (int i = 0; i < 20000; ++i) {
    const uuid next = uuid::v7();
    REQUIRE(prev < next);
    REQUIRE(prev.str() < next.str());  // text order agrees
    prev = next;
  }
}

TEST_CASE("uuid text form round-trips, is lower case, and rejects malformed text") {
  const auto u = uuid::parse("0192F1C4-7A2B-7C3D-8E4F-0123456789AB");
  REQUIRE(u);
  CHECK(u->str() == "0192f1c4-7a2b-7c3d-8e4f-0123456789ab");
  CHECK(uuid::parse(u->str()) == u);
  for (const char* bad :
       {"", "0192f1c4-7a2b-7c3d-8e4f-0123456789a", "0192f1c47a2b7c3d8e4f0123456789abcd",
        "0192f1c4-7a2b-7c3d-8e4f-0123456789ag", "0192f1c4+7a2b-7c3d-8e4f-0123456789ab",
        "0192f1c-47a2b-7c3d-8e4f-0123456789ab"})
    CHECK_MESSAGE(!uuid::parse(bad), bad);
  const auto e = thrown_by([] { uuid::parse_or_throw("nope", "project_id"); });
  CHECK(e.code() == errc::invalid_argument);
  CHECK(std::string(e.what()).find("project_id") != std::string::npos);
}

TEST_CASE("timestamps format as RFC 3339 UTC with microseconds and parse every offset form") {
  const auto t = timestamp::parse("2026-11-23T10:15:30.123456Z");
  REQUIRE(t);
  CHECK(t->str() == "2026-11-23T10:15:30.123456Z");
  CHECK(timestamp::parse("2026-11-23 10:15:30.123456+00")->str() == "2026-11-23T10:15:30.123456Z");
  CHECK(timestamp::parse("2026-11-23T11:15:30.1+01:00")->str() == "2026-11-23T10:15:30.100000Z");
  CHECK(timestamp::parse("2026-11-23T10:15:30.123456789Z")->str() == "2026-11-23T10:15:30.123456Z");
  CHECK(timestamp::parse("2024-02-29T00:00:00Z"));
  CHECK(timestamp::parse("1969-12-31T23:59:59.999999Z")->micros() == -1);
  CHECK(timestamp(-1).str() == "1969-12-31T23:59:59.999999Z");
  CHECK(timestamp(0).str() == "1970-01-01T00:00:00.000000Z");
  for (const char* bad :
       {"2026-11-23T10:15:30", "2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2026-11-23T24:00:00Z", "2026-11-23T10:15:30.Z", "2026-11-23T10:15:30Zjunk", "yesterday"})
    CHECK_MESSAGE(!timestamp::parse(bad), bad);
  CHECK(timestamp::parse_or_throw("2026-01-01T00:00:00Z", "since") <
        timestamp::parse_or_throw("2026-01-01T00:00:00.000001Z", "since"));
}

TEST_CASE("enum names are the contract's spelling and unknown names are refused with the list") {
  CHECK(to_string(request_status::human_review) == "HUMAN_REVIEW");
  CHECK(to_string(object_state::superseded) == "SUPERSEDED");
  CHECK(to_string(membership_role::senior_checker) == "senior_checker");
  CHECK(parse_enum<direction>("ingress") == direction::ingress);
  CHECK(!parse_enum<direction>("INGRESS"));
  for (std::size_t i = 0; i < enum_names<request_status>::names.size(); ++i) {
    const auto s = static_cast<request_status>(i);
    CHECK(parse_enum<request_status>(to_string(s)) == s);
  }
  const auto e = thrown_by([] { parse_enum_or_throw<output_type>("spreadsheet"); });
  CHECK(e.code() == errc::invalid_argument);
  CHECK(std::string(e.what()) ==
        "unknown output type 'spreadsheet' (expected one of: tabular, figure, model, code, report, "
        "other)");
}

TEST_CASE("DATABASE_URL: every SQLite form") {
  auto u = parse_database_url("sqlite:///relative/path.db");
  CHECK(u.kind == engine::sqlite);
  CHECK(u.sqlite_path == "relative/path.db");
  CHECK(parse_database_url("sqlite:////absolute/path.db").sqlite_path == "/absolute/path.db");
  CHECK(parse_database_url("sqlite:///:memory:").in_memory());
  CHECK(parse_database_url("sqlite+aiosqlite:///./trevor.db").sqlite_path == "./trevor.db");
  CHECK(parse_database_url("sqlite:///my%20data.db").sqlite_path == "my data.db");
  CHECK(u.connect_string == "db=\"relative/path.db\"");
}

TEST_CASE("DATABASE_URL: PostgreSQL forms become libpq keywords with decoding and quoting") {
  auto u = parse_database_url(
      "postgresql://app:p%40ss%3Aw%2Frd%25%21@db.example:6543/trevor?sslmode=require");
  CHECK(u.kind == engine::postgresql);
  CHECK(u.connect_string ==
        "user='app' password='p@ss:w/rd%!' host='db.example' port='6543' dbname='trevor' "
        "sslmode='require' connect_timeout='5'");
  CHECK(u.redacted == "postgresql://app:***@db.example:6543/trevor");
  CHECK(u.redacted.find("p@ss") == std::string::npos);

  CHECK(parse_database_url("postgres://u@h/d").connect_string ==
        "user='u' host='h' dbname='d' connect_timeout='5'");
  CHECK(parse_database_url("postgresql+asyncpg://u:pw@h:5432/d").connect_string ==
        "user='u' password='pw' host='h' port='5432' dbname='d' connect_timeout='5'");
  CHECK(parse_database_url("postgresql://u@[::1]:5433/d").connect_string ==
        "user='u' host='::1' port='5433' dbname='d' connect_timeout='5'");
  // Quotes and backslashes in values are escaped for libpq.
  CHECK(parse_database_url("postgresql://u:it's%5Cx@h/d?connect_timeout=2").connect_string ==
        "user='u' password='it\\'s\\\\x' host='h' dbname='d' connect_timeout='2'");
  CHECK(parse_database_url("postgresql://u@h/d?options=-c%20search_path%3Dx").connect_string ==
        "user='u' host='h' dbname='d' options='-c search_path=x' connect_timeout='5'");
}

TEST_CASE("DATABASE_URL: malformed values are refused with a message naming the problem") {
  struct bad_case {
    const char* url;
    const char* says;
  };
  for (const auto& c :
       {bad_case{"", "empty"}, bad_case{"mysql://u@h/d", "unknown scheme 'mysql'"},
        bad_case{"trevor.db", "not a URL"}, bad_case{"sqlite://host/x.db", "no host"},
        bad_case{"sqlite:///", "names no file"},
        bad_case{"sqlite:///x.db?mode=ro", "no query parameters"},
        bad_case{"postgresql://u@h:99999/d", "port '99999'"},
        bad_case{"postgresql://u@h:abc/d", "port 'abc'"},
        bad_case{"postgresql://u:p%zz@h/d", "invalid percent-escape in the password"},
        bad_case{"postgresql://u:p%4@h/d", "invalid percent-escape"},
        bad_case{"postgresql://u@h/d?sslmode", "has no value"},
        bad_case{"postgresql://u@h/d?SSL-Mode=x", "not a connection parameter"},
        bad_case{"postgresql://u@h/d?password=x", "belongs in the URL"},
        bad_case{"postgresql://u@[::1/d", "unclosed '['"}}) {
    const auto e = thrown_by([&] { parse_database_url(c.url); });
    CHECK(e.code() == errc::invalid_argument);
    CHECK_MESSAGE(std::string(e.what()).find(c.says) != std::string::npos, c.url, " -> ", e.what());
    CHECK(std::string(e.what()).starts_with("DATABASE_URL: "));
  }
  // The password never appears in an error.
  const auto e = thrown_by([] { parse_database_url("postgresql://u:secret@h:x/d"); });
  CHECK(std::string(e.what()).find("secret") == std::string::npos);
}

TEST_CASE("TREVOR_ENV: parsing and the rules outside development and test") {
  CHECK(parse_environment(std::nullopt) == environment::development);
  CHECK(parse_environment("") == environment::development);
  CHECK(parse_environment("production") == environment::production);
  auto e = thrown_by([] { parse_environment("prod"); });
  CHECK(
      std::string(e.what()) ==
      "TREVOR_ENV: unknown environment 'prod' (expected development, test, staging or production)");

  CHECK(check_environment(environment::development, std::nullopt, true) == "sqlite:///./trevor.db");
  CHECK(check_environment(environment::test, "sqlite:///:memory:", true) == "sqlite:///:memory:");
  CHECK(check_environment(environment::production, "postgresql://u@h/d", false) ==
        "postgresql://u@h/d");

  e = thrown_by([] { check_environment(environment::production, std::nullopt, false); });
  CHECK(std::string(e.what()) == "DATABASE_URL is required when TREVOR_ENV=production");
  e = thrown_by([] { check_environment(environment::staging, "sqlite:///x.db", false); });
  CHECK(std::string(e.what()).find("SQLite is for development and test only") != std::string::npos);
  e = thrown_by([] { check_environment(environment::production, "postgresql://u@h/d", true); });
  CHECK(std::string(e.what()) ==
        "TREVOR_DEV_AUTH_BYPASS=true is refused when TREVOR_ENV=production");
  e = thrown_by([] { check_environment(environment::staging, "ftp://x", false); });
  CHECK(std::string(e.what()).find("unknown scheme 'ftp'") != std::string::npos);
}

TEST_CASE("the dialect spells placeholders per engine and leaves other braces alone") {
  using trevor::detail::expand_sql;
  CHECK(
      expand_sql("id {uuid}, at {ts} DEFAULT {now}, j {json} DEFAULT '{}', b {bool} DEFAULT {true}",
                 engine::postgresql) ==
      "id UUID, at TIMESTAMPTZ DEFAULT now(), j JSONB DEFAULT '{}', b BOOLEAN DEFAULT TRUE");
  CHECK(expand_sql("id {uuid}, j {json} DEFAULT '{}', b {bool} DEFAULT {false}", engine::sqlite) ==
        "id TEXT, j TEXT DEFAULT '{}', b BOOLEAN DEFAULT 0");
  CHECK(expand_sql("DEFAULT {now}", engine::sqlite) ==
        "DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')");
  CHECK(expand_sql("SELECT {t:created_at} FROM x", engine::sqlite) == "SELECT created_at FROM x");
  CHECK(expand_sql("SELECT {t:created_at} FROM x", engine::postgresql) ==
        "SELECT to_char((created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM "
        "x");
  // Not placeholders: JSON text, unknown names, an unclosed brace.
  CHECK(expand_sql("'{\"a\": {\"b\": 1}}' {unknown} {", engine::postgresql) ==
        "'{\"a\": {\"b\": 1}}' {unknown} {");
}
