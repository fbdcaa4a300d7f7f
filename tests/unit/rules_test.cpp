// Database rules proved by trying to break them with raw SQL, on each engine.
// Nothing here goes through the library's own code paths: these are the
// attacks of a buggy service, a careless operator or a tampering insider.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "db/errors.hpp"
#include "db/transaction.hpp"
#include "support.hpp"
#include "trevor/migrate.hpp"
#include "trevor/uuid.hpp"

using namespace trevor;
using trevor::test::fresh_database;

namespace {

const std::string hash_a(64, 'a');
const std::string hash_b(64, 'b');

struct graph {
  std::string researcher = uuid::v7().str();
  std::string checker = uuid::v7().str();
  std::string project = uuid::v7().str();
  std::string request = uuid::v7().str();
  std::string object = uuid::v7().str();
  std::string logical = uuid::v7().str();
  std::string slot = uuid::v7().str();
  std::string review = uuid::v7().str();
  std::string audit = uuid::v7().str();
  std::string release = uuid::v7().str();
  std::string delivery = uuid::v7().str();
};

graph seed(fresh_database& f) {
  graph g;
  f.exec(fmt::format("INSERT INTO users (id, username) VALUES ('{}', 'rita'), ('{}', 'carl')",
                     g.researcher, g.checker));
  f.exec(fmt::format("INSERT INTO projects (id, name) VALUES ('{}', 'p1')", g.project));
  f.exec(
      fmt::format("INSERT INTO airlock_requests (id, project_id, direction, title, owner_id) "
                  "VALUES ('{}', '{}', 'egress', 'Table 1', '{}')",
                  g.request, g.project, g.researcher));
  f.exec(fmt::format(
      "INSERT INTO output_objects (id, request_id, logical_object_id, version, filename, "
      "output_type, storage_key, checksum_sha256, size_bytes, uploaded_by) "
      "VALUES ('{}', '{}', '{}', 1, 't1.csv', 'tabular', 'k1', '{}', 10, '{}')",
      g.object, g.request, g.logical, hash_a, g.researcher));
  f.exec(fmt::format(
      "INSERT INTO output_objects (id, request_id, logical_object_id, version, filename, "
      "output_type, storage_key, uploaded_by) "
      "VALUES ('{}', '{}', '{}', 1, 'code.zip', 'code', 'k2', '{}')",
      g.slot, g.request, uuid::v7().str(), g.researcher));
  f.exec(fmt::format(
      "INSERT INTO reviews (id, request_id, round, reviewer_type, reviewer_id, decision) "
      "VALUES ('{}', '{}', 1, 'human', '{}', 'approved')",
      g.review, g.request, g.checker));
  f.exec(
      fmt::format("INSERT INTO audit_events (id, actor, event_type, request_id, payload) "
                  "VALUES ('{}', '{}', 'request.created', '{}', '{{}}')",
                  g.audit, g.researcher, g.request));
  f.exec(fmt::format(
      "INSERT INTO release_records (id, request_id, crate_storage_key, crate_checksum_sha256, "
      "download_url, url_expires_at, released_by) "
      "VALUES ('{}', '{}', 'crate', '{}', 'https://x', '2030-01-01T00:00:00.000000Z', '{}')",
      g.release, g.request, hash_a, g.checker));
  f.exec(fmt::format(
      "INSERT INTO delivery_records (id, request_id, delivered_by, object_count, url_expires_at) "
      "VALUES ('{}', '{}', '{}', 1, '2030-01-01T00:00:00.000000Z')",
      g.delivery, g.request, g.checker));
  return g;
}

void refused(fresh_database& f, const std::string& sql, std::string_view says) {
  const auto e = f.exec_fails(sql);
  CHECK_MESSAGE(std::string(e.what()).find(says) != std::string::npos, sql, " -> ", e.what());
}

}  // namespace

TEST_CASE("audit rows cannot be updated or deleted") {
  fresh_database f;
  const auto g = seed(f);
  refused(f, fmt::format("UPDATE audit_events SET actor = 'someone-else' WHERE id = '{}'", g.audit),
          "audit_events is insert-only (UPDATE refused)");
  refused(f, "UPDATE audit_events SET payload = '{\"forged\": true}'", "insert-only");
  refused(f, fmt::format("DELETE FROM audit_events WHERE id = '{}'", g.audit),
          "audit_events is insert-only (DELETE refused)");
  refused(f, "DELETE FROM audit_events", "insert-only");
  if (f.db().kind() == engine::postgresql) {
    // audit_leaves (migration 0004) references audit_events, so a plain
    // TRUNCATE stops at the foreign key; with CASCADE the triggers refuse.
    refused(f, "TRUNCATE audit_events", "truncate");
    refused(f, "TRUNCATE audit_events CASCADE", "is insert-only (TRUNCATE refused)");
  }
  CHECK(f.count("SELECT count(*) FROM audit_events WHERE actor <> 'someone-else'") == 1);
  CHECK(f.exec_fails("DELETE FROM audit_events").code() == errc::conflict);
}

TEST_CASE("workflow records are never deleted and reviews never change") {
  fresh_database f;
  const auto g = seed(f);
  refused(f, fmt::format("DELETE FROM airlock_requests WHERE id = '{}'", g.request),
          "airlock_requests rows are never deleted");
  refused(f, fmt::format("DELETE FROM output_objects WHERE id = '{}'", g.object),
          "output_objects rows are never deleted");
  refused(f, fmt::format("DELETE FROM reviews WHERE id = '{}'", g.review),
          "reviews rows are never deleted");
  refused(f, "DELETE FROM release_records", "release_records rows are never deleted");
  refused(f, "DELETE FROM delivery_records", "delivery_records rows are never deleted");
  f.exec(
      fmt::format("INSERT INTO audit_events (id, actor, event_type, request_id, payload) "
                  "VALUES ('{}', 'system', 'request.created', '{}', '{{\"to\": \"DRAFT\"}}')",
                  uuid::v7().str(), g.request));
  refused(f, "DELETE FROM request_facts", "request_facts rows are never deleted");
  refused(f, "DELETE FROM request_stays", "request_stays rows are never deleted");
  refused(f, "DELETE FROM review_facts", "review_facts rows are never deleted");
  refused(f, fmt::format("UPDATE reviews SET decision = 'rejected' WHERE id = '{}'", g.review),
          "reviews are immutable");
  refused(f, "UPDATE reviews SET summary = 'edited'", "reviews are immutable");
  if (f.db().kind() == engine::postgresql) {
    refused(f, "TRUNCATE airlock_requests CASCADE", "never truncated");
    // review_facts (migration 0010) references reviews: a plain TRUNCATE
    // stops at the foreign key; with CASCADE the triggers refuse.
    refused(f, "TRUNCATE reviews", "truncate");
    refused(f, "TRUNCATE reviews CASCADE", "never truncated");
    refused(f, "TRUNCATE request_facts", "request_facts rows are never deleted");
    refused(f, "TRUNCATE request_stays", "request_stays rows are never deleted");
    refused(f, "TRUNCATE review_facts", "review_facts rows are never deleted");
  }
  CHECK(f.count("SELECT count(*) FROM airlock_requests") == 1);
  CHECK(f.count("SELECT count(*) FROM request_facts") == 1);
  CHECK(f.count("SELECT count(*) FROM request_stays") == 1);
  CHECK(f.count("SELECT count(*) FROM review_facts") == 1);
  CHECK(f.count("SELECT count(*) FROM reviews WHERE decision = 'approved' AND summary = ''") == 1);
}

TEST_CASE("a release record's package never changes; delivery records never change") {
  fresh_database f;
  const auto g = seed(f);
  refused(f, fmt::format("UPDATE release_records SET crate_checksum_sha256 = '{}'", hash_b),
          "release record's package, request, releaser and creation time are immutable");
  refused(f, "UPDATE release_records SET crate_storage_key = 'releases/elsewhere.zip'",
          "immutable");
  refused(f, fmt::format("UPDATE release_records SET released_by = '{}'", g.researcher),
          "immutable");
  refused(f, "UPDATE delivery_records SET object_count = 99", "delivery_records are immutable");
  refused(f, "UPDATE delivery_records SET url_expires_at = '2099-01-01T00:00:00.000000Z'",
          "delivery_records are immutable");
  if (f.db().kind() == engine::postgresql) {
    refused(f, "TRUNCATE release_records", "never truncated");
    refused(f, "TRUNCATE delivery_records", "never truncated");
  }
  // The link is what may change: a fresh link and the expiry warning.
  f.exec(
      "UPDATE release_records SET download_url = 'https://x/new', "
      "url_expires_at = '2030-01-01T00:00:00.000000Z', expiry_warned_at = NULL");
  CHECK(f.count("SELECT count(*) FROM release_records WHERE download_url = 'https://x/new'") == 1);
  CHECK(f.count(fmt::format("SELECT count(*) FROM release_records WHERE crate_checksum_sha256 = "
                            "'{}'",
                            hash_a)) == 1);
  CHECK(f.count("SELECT count(*) FROM delivery_records WHERE object_count = 1") == 1);
}

TEST_CASE("REVOKED: entered only from a RELEASED egress request, and never left") {
  fresh_database f;
  const auto g = seed(f);
  const auto set_status = [&](const std::string& request, const std::string& status) {
    return fmt::format("UPDATE airlock_requests SET status = '{}' WHERE id = '{}'", status,
                       request);
  };
  const std::string says = "only a RELEASED egress request becomes REVOKED, and REVOKED is final";
  for (const char* from : {"DRAFT", "HUMAN_REVIEW", "APPROVED", "RELEASING", "REJECTED"}) {
    f.exec(set_status(g.request, from));
    refused(f, set_status(g.request, "REVOKED"), says);
  }
  // An ingress request's delivery is never revoked.
  const auto ingress = uuid::v7().str();
  f.exec(fmt::format(
      "INSERT INTO airlock_requests (id, project_id, direction, status, title, owner_id) "
      "VALUES ('{}', '{}', 'ingress', 'RELEASED', 'Lookup', '{}')",
      ingress, g.project, g.researcher));
  refused(f, set_status(ingress, "REVOKED"), says);
  // Nothing is created REVOKED.
  refused(f,
          fmt::format(
              "INSERT INTO airlock_requests (id, project_id, direction, status, title, owner_id) "
              "VALUES ('{}', '{}', 'egress', 'REVOKED', 'Forged', '{}')",
              uuid::v7().str(), g.project, g.researcher),
          says);
  // RELEASED → REVOKED is allowed, and REVOKED is final.
  f.exec(set_status(g.request, "RELEASED"));
  f.exec(set_status(g.request, "REVOKED"));
  CHECK(f.count(fmt::format("SELECT count(*) FROM airlock_requests WHERE id = '{}' AND status = "
                            "'REVOKED'",
                            g.request)) == 1);
  for (const char* to : {"RELEASED", "APPROVED", "DRAFT", "WITHDRAWN"})
    refused(f, set_status(g.request, to), says);
  f.exec(set_status(g.request, "REVOKED"));  // unchanged: allowed
  f.exec(fmt::format("UPDATE airlock_requests SET title = 'Renamed' WHERE id = '{}'", g.request));
  CHECK(f.text(fmt::format("SELECT status FROM airlock_requests WHERE id = '{}'", g.request)) ==
        "REVOKED");
  CHECK(f.exec_fails(set_status(ingress, "GONE")).code() == errc::invalid_argument);
  CHECK(f.count("SELECT count(*) FROM airlock_requests") == 2);
}

TEST_CASE("migration 0007 rebuilds airlock_requests on SQLite keeping every row and reference") {
  fresh_database f;
  if (f.db().kind() != engine::sqlite) return;  // PostgreSQL alters the CHECK in place
  const auto g = seed(f);
  f.exec(
      fmt::format("UPDATE airlock_requests SET status = 'RELEASED', review_round = 2, "
                  "submitted_at = '2026-01-02T03:04:05.000000Z' WHERE id = '{}'",
                  g.request));
  const std::string row = fmt::format(
      "SELECT id || project_id || direction || status || title || description || "
      "owner_id || review_round || submitted_at || created_at || updated_at "
      "FROM airlock_requests WHERE id = '{}'",
      g.request);
  const auto before = f.text(row);
  {
    auto l = f.db().impl().acquire();
    detail::transaction tx(*l, detail::transaction::mode::write);
    l->exec_script(migrator::sql_for(7, engine::sqlite));
    tx.commit();
  }
  CHECK(f.text(row) == before);
  CHECK(f.count("SELECT count(*) FROM pragma_foreign_key_check") == 0);
  CHECK(f.count("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'airlock_requests' AND "
                "type = 'index' AND name LIKE 'ix_%'") == 5);
  CHECK(f.count("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'airlock_requests' AND "
                "type = 'trigger'") == 4);
  CHECK(f.count("SELECT count(*) FROM sqlite_master WHERE name = 'airlock_requests_0007'") == 0);
  // The children still refer to it, and its rules still hold.
  refused(f, fmt::format("DELETE FROM airlock_requests WHERE id = '{}'", g.request),
          "airlock_requests rows are never deleted");
  CHECK(
      f.exec_fails(fmt::format("INSERT INTO output_objects (id, request_id, logical_object_id, "
                               "version, filename, output_type, storage_key, uploaded_by) "
                               "VALUES ('{}', '{}', '{}', 1, 'x.csv', 'tabular', 'k', '{}')",
                               uuid::v7().str(), uuid::v7().str(), uuid::v7().str(), g.researcher))
          .code() == errc::not_found);
  f.exec(fmt::format("UPDATE airlock_requests SET status = 'REVOKED' WHERE id = '{}'", g.request));
}

TEST_CASE("notification delivery attempts are insert-only; a settled delivery never changes") {
  fresh_database f;
  const auto g = seed(f);
  const auto note = uuid::v7().str();
  f.exec(
      fmt::format("INSERT INTO notifications (id, user_id, event_type, title) "
                  "VALUES ('{}', '{}', 'request.submitted', 'New request')",
                  note, g.checker));
  f.exec(fmt::format(
      "INSERT INTO notification_deliveries (notification_id, channel) VALUES ('{}', 'email')",
      note));
  f.exec(fmt::format(
      "INSERT INTO notification_delivery_attempts (id, notification_id, channel, attempt, "
      "outcome, error) VALUES ('{}', '{}', 'email', 1, 'failed', 'SMTP down')",
      uuid::v7().str(), note));
  refused(f, "UPDATE notification_delivery_attempts SET outcome = 'delivered'",
          "notification_delivery_attempts is insert-only (UPDATE refused)");
  refused(f, "UPDATE notification_delivery_attempts SET error = ''", "insert-only");
  refused(f, "DELETE FROM notification_delivery_attempts",
          "notification_delivery_attempts is insert-only (DELETE refused)");
  refused(f, "DELETE FROM notification_deliveries",
          "notification_deliveries rows are never deleted");
  if (f.db().kind() == engine::postgresql) {
    refused(f, "TRUNCATE notification_delivery_attempts", "insert-only (TRUNCATE refused)");
    refused(f, "TRUNCATE notification_deliveries CASCADE", "truncate");
  }
  // Attempt numbers are unique per delivery; outcomes and channels are checked.
  CHECK(
      f
          .exec_fails(fmt::format(
              "INSERT INTO notification_delivery_attempts (id, notification_id, channel, attempt, "
              "outcome) VALUES ('{}', '{}', 'email', 1, 'delivered')",
              uuid::v7().str(), note))
          .code() == errc::conflict);
  CHECK(
      f
          .exec_fails(fmt::format(
              "INSERT INTO notification_delivery_attempts (id, notification_id, channel, attempt, "
              "outcome) VALUES ('{}', '{}', 'email', 2, 'lost')",
              uuid::v7().str(), note))
          .code() == errc::invalid_argument);
  // A pending delivery moves (attempts only grow); once settled it never changes.
  f.exec("UPDATE notification_deliveries SET attempts = 1, claimed_by = 'x'");
  refused(f, "UPDATE notification_deliveries SET attempts = 0", "attempts only grow");
  f.exec("UPDATE notification_deliveries SET state = 'delivered', claimed_by = NULL");
  refused(f, "UPDATE notification_deliveries SET state = 'pending'",
          "a settled notification delivery never changes");
  refused(f, "UPDATE notification_deliveries SET attempts = 2", "never changes");
  CHECK(f.count("SELECT count(*) FROM notification_delivery_attempts WHERE outcome = 'failed' "
                "AND error = 'SMTP down'") == 1);
  CHECK(f.count("SELECT count(*) FROM notification_deliveries WHERE state = 'delivered' AND "
                "attempts = 1") == 1);
}

TEST_CASE("an object's identity and content are immutable; only its state moves") {
  fresh_database f;
  const auto g = seed(f);
  refused(f,
          fmt::format("UPDATE output_objects SET checksum_sha256 = '{}' WHERE id = '{}'", hash_b,
                      g.object),
          "output_objects identity and content are immutable");
  refused(f, fmt::format("UPDATE output_objects SET size_bytes = 11 WHERE id = '{}'", g.object),
          "immutable");
  refused(f,
          fmt::format("UPDATE output_objects SET filename = 'other.csv' WHERE id = '{}'", g.object),
          "immutable");
  refused(
      f,
      fmt::format("UPDATE output_objects SET storage_key = 'elsewhere' WHERE id = '{}'", g.object),
      "immutable");
  refused(f, fmt::format("UPDATE output_objects SET version = 2 WHERE id = '{}'", g.object),
          "immutable");
  refused(f,
          fmt::format("UPDATE output_objects SET uploaded_by = '{}' WHERE id = '{}'", g.checker,
                      g.object),
          "immutable");
  // Clearing a checksum to re-open the "slot" fill-in is refused too.
  refused(
      f,
      fmt::format("UPDATE output_objects SET checksum_sha256 = '', size_bytes = 0 WHERE id = '{}'",
                  g.object),
      "immutable");
  f.exec(fmt::format("UPDATE output_objects SET state = 'APPROVED' WHERE id = '{}'", g.object));
  CHECK(f.text(fmt::format("SELECT checksum_sha256 FROM output_objects WHERE id = '{}'",
                           g.object)) == hash_a);
  CHECK(f.text(fmt::format("SELECT state FROM output_objects WHERE id = '{}'", g.object)) ==
        "APPROVED");
}

TEST_CASE("an ingress slot's checksum and size are filled in exactly once") {
  fresh_database f;
  const auto g = seed(f);
  f.exec(fmt::format(
      "UPDATE output_objects SET checksum_sha256 = '{}', size_bytes = 42 WHERE id = '{}'", hash_b,
      g.slot));
  CHECK(f.text(fmt::format("SELECT checksum_sha256 FROM output_objects WHERE id = '{}'", g.slot)) ==
        hash_b);
  refused(f,
          fmt::format("UPDATE output_objects SET checksum_sha256 = '{}' WHERE id = '{}'", hash_a,
                      g.slot),
          "immutable");
  refused(f, fmt::format("UPDATE output_objects SET size_bytes = 43 WHERE id = '{}'", g.slot),
          "immutable");
}

TEST_CASE("a SUPERSEDED object never changes state again") {
  fresh_database f;
  const auto g = seed(f);
  f.exec(fmt::format("UPDATE output_objects SET state = 'SUPERSEDED' WHERE id = '{}'", g.object));
  for (const char* to : {"PENDING", "APPROVED", "CHANGES_REQUESTED", "REJECTED"})
    refused(f, fmt::format("UPDATE output_objects SET state = '{}' WHERE id = '{}'", to, g.object),
            "a SUPERSEDED object never changes state");
  CHECK(f.text(fmt::format("SELECT state FROM output_objects WHERE id = '{}'", g.object)) ==
        "SUPERSEDED");
}

TEST_CASE("one live version per logical object; versions are unique") {
  fresh_database f;
  const auto g = seed(f);
  const std::string v2 = uuid::v7().str();
  const auto insert_v2 = fmt::format(
      "INSERT INTO output_objects (id, request_id, logical_object_id, version, replaces_id, "
      "filename, "
      "output_type, storage_key, checksum_sha256, size_bytes, uploaded_by) "
      "VALUES ('{}', '{}', '{}', 2, '{}', 't1.csv', 'tabular', 'k3', '{}', 12, '{}')",
      v2, g.request, g.logical, g.object, hash_b, g.researcher);
  // Version 1 is still live: a second live version is refused.
  CHECK(f.exec_fails(insert_v2).code() == errc::conflict);
  f.exec(fmt::format("UPDATE output_objects SET state = 'SUPERSEDED' WHERE id = '{}'", g.object));
  f.exec(insert_v2);
  // Same (logical object, version) twice is refused even when superseded.
  f.exec(fmt::format("UPDATE output_objects SET state = 'SUPERSEDED' WHERE id = '{}'", v2));
  const auto dup = fmt::format(
      "INSERT INTO output_objects (id, request_id, logical_object_id, version, replaces_id, "
      "filename, "
      "output_type, storage_key, uploaded_by) VALUES ('{}', '{}', '{}', 2, '{}', 'x', 'other', "
      "'k4', '{}')",
      uuid::v7().str(), g.request, g.logical, g.object, g.researcher);
  CHECK(f.exec_fails(dup).code() == errc::conflict);
}

TEST_CASE("a user is never researcher and checker on the same project") {
  fresh_database f;
  const auto g = seed(f);
  const auto member = [&](const std::string& user, const std::string& role) {
    return fmt::format(
        "INSERT INTO project_memberships (id, user_id, project_id, role) VALUES ('{}', '{}', '{}', "
        "'{}')",
        uuid::v7().str(), user, g.project, role);
  };
  f.exec(member(g.researcher, "researcher"));
  refused(f, member(g.researcher, "output_checker"),
          "cannot be researcher and checker on one project");
  refused(f, member(g.researcher, "senior_checker"),
          "cannot be researcher and checker on one project");

  f.exec(member(g.checker, "output_checker"));
  f.exec(member(g.checker, "senior_checker"));  // the two checker roles coexist
  refused(f, member(g.checker, "researcher"), "cannot be researcher and checker on one project");
  // Turning an existing checker row into a researcher row is refused too.
  refused(f,
          fmt::format("UPDATE project_memberships SET role = 'researcher' "
                      "WHERE user_id = '{}' AND role = 'senior_checker'",
                      g.checker),
          "cannot be researcher and checker on one project");
  // Duplicates are refused by the unique key.
  CHECK(f.exec_fails(member(g.checker, "output_checker")).code() == errc::conflict);

  // On another project the same person may hold the other role.
  const std::string p2 = uuid::v7().str();
  f.exec(fmt::format("INSERT INTO projects (id, name) VALUES ('{}', 'p2')", p2));
  f.exec(
      fmt::format("INSERT INTO project_memberships (id, user_id, project_id, role) "
                  "VALUES ('{}', '{}', '{}', 'output_checker')",
                  uuid::v7().str(), g.researcher, p2));
  CHECK(f.count("SELECT count(*) FROM project_memberships") == 4);
}

TEST_CASE("checker feedback is append-only") {
  fresh_database f;
  const auto g = seed(f);
  f.exec(fmt::format(
      "INSERT INTO output_object_metadata (logical_object_id, request_id, checker_feedback) "
      "VALUES ('{}', '{}', '[{{\"reviewer_id\": \"{}\", \"version\": 1, \"feedback\": \"round row "
      "3\"}}]')",
      g.logical, g.request, g.checker));
  const auto set = [&](const std::string& json) {
    return fmt::format(
        "UPDATE output_object_metadata SET checker_feedback = '{}' WHERE logical_object_id = '{}'",
        json, g.logical);
  };
  const std::string first =
      fmt::format(R"({{"reviewer_id": "{}", "version": 1, "feedback": "round row 3"}})", g.checker);
  const std::string second =
      fmt::format(R"({{"reviewer_id": "{}", "version": 2, "feedback": "fine now"}})", g.checker);
  // Appending keeps every earlier entry: allowed.
  f.exec(set("[" + first + ", " + second + "]"));
  // Dropping, rewriting or reordering an entry is refused.
  refused(f, set("[" + second + "]"), "checker_feedback is append-only");
  refused(f, set("[]"), "checker_feedback is append-only");
  refused(f, set("[" + second + ", " + first + "]"), "checker_feedback is append-only");
  refused(f,
          set(fmt::format(R"([{{"reviewer_id": "{}", "version": 1, "feedback": "edited"}}, {}])",
                          g.checker, second)),
          "checker_feedback is append-only");
  // Other metadata stays editable.
  f.exec(fmt::format(
      "UPDATE output_object_metadata SET title = 'Counts' WHERE logical_object_id = '{}'",
      g.logical));
  CHECK(
      f.text(fmt::format("SELECT title FROM output_object_metadata WHERE logical_object_id = '{}'",
                         g.logical)) == "Counts");
}

TEST_CASE("enumerations and shapes are checked by the database") {
  fresh_database f;
  const auto g = seed(f);
  CHECK(f.exec_fails(
             fmt::format("UPDATE airlock_requests SET status = 'LIMBO' WHERE id = '{}'", g.request))
            .code() == errc::invalid_argument);
  CHECK(f
            .exec_fails(fmt::format(
                "INSERT INTO reviews (id, request_id, round, reviewer_type, reviewer_id, decision) "
                "VALUES ('{}', '{}', 1, 'human', '{}', 'escalated')",
                uuid::v7().str(), g.request, g.researcher))
            .code() == errc::invalid_argument);
  // A human reviewer reviews a round once; so does the agent.
  CHECK(f
            .exec_fails(fmt::format(
                "INSERT INTO reviews (id, request_id, round, reviewer_type, reviewer_id, decision) "
                "VALUES ('{}', '{}', 1, 'human', '{}', 'rejected')",
                uuid::v7().str(), g.request, g.checker))
            .code() == errc::conflict);
  const auto agent = [&] {
    return fmt::format(
        "INSERT INTO reviews (id, request_id, round, reviewer_type, decision) "
        "VALUES ('{}', '{}', 1, 'agent', 'escalated')",
        uuid::v7().str(), g.request);
  };
  f.exec(agent());
  CHECK(f.exec_fails(agent()).code() == errc::conflict);
  // References must exist.
  CHECK(
      f.exec_fails(
           fmt::format("INSERT INTO airlock_requests (id, project_id, direction, title, owner_id) "
                       "VALUES ('{}', '{}', 'egress', 't', '{}')",
                       uuid::v7().str(), uuid::v7().str(), g.researcher))
          .code() == errc::not_found);
}

TEST_CASE("timestamps are set by the database and updated_at moves on every update") {
  fresh_database f;
  const auto g = seed(f);
  const auto ts = [&](const std::string& col) {
    return timestamp::parse_or_throw(
        f.text(fmt::format(
            "SELECT {} FROM airlock_requests WHERE id = '{}'",
            f.db().kind() == engine::postgresql
                ? "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                : col,
            g.request)),
        col);
  };
  const auto created = ts("created_at");
  const auto now = timestamp::from_sys(std::chrono::system_clock::now());
  CHECK(created.micros() <= now.micros() + 1'000'000);
  CHECK(created.micros() >= now.micros() - 60'000'000);
  const auto before = ts("updated_at");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Even an explicit attempt to set updated_at is overridden by the database.
  f.exec(
      fmt::format("UPDATE airlock_requests SET title = 'Table 1 (v2)', updated_at = "
                  "'2000-01-01T00:00:00.000000Z' "
                  "WHERE id = '{}'",
                  g.request));
  const auto after = ts("updated_at");
  CHECK(after > before);
  CHECK(ts("created_at") == created);
}

namespace {
/// A login role for the application, dropped again when the test ends.
struct app_role {
  std::string name = "trevor_app_" + uuid::v7().str().substr(24);
  fresh_database& f;
  explicit app_role(fresh_database& fd) : f(fd) {
    f.exec(fmt::format("CREATE ROLE {} LOGIN PASSWORD 'app-secret'", name));
  }
  ~app_role() {
    try {
      f.exec(fmt::format("DROP OWNED BY {}", name));
      f.exec(fmt::format("DROP ROLE {}", name));
    } catch (...) {
    }
  }
  std::string url() const {
    // Same server and schema, the role's credentials instead of the owner's.
    const std::string& owner = f.url();
    const auto scheme_end = owner.find("://") + 3;
    const auto at = owner.find('@', scheme_end);
    return owner.substr(0, scheme_end) + name + ":app-secret" + owner.substr(at);
  }
};
}  // namespace

TEST_CASE("the application role cannot update, delete or truncate audit rows" *
          doctest::skip(!trevor::test::on_postgres())) {
  fresh_database f;
  const auto g = seed(f);
  app_role role(f);
  grant_application_role(f.db(), role.name);

  auto app = database::open(role.url(), {.pool_size = 1});
  auto l = app.impl().acquire();
  const auto attempt = [&](const std::string& sql) -> error {
    try {
      l->sql << sql;
    } catch (...) {
      return detail::translate_current_exception("");
    }
    FAIL("the application role was allowed: " << sql);
    return error(errc::internal, "");
  };
  for (const std::string& sql :
       {std::string("UPDATE audit_events SET actor = 'x'"), std::string("DELETE FROM audit_events"),
        std::string("TRUNCATE audit_events"), std::string("DELETE FROM airlock_requests"),
        std::string("DELETE FROM reviews"), std::string("UPDATE reviews SET summary = 'x'"),
        std::string("INSERT INTO schema_migrations (id, name, checksum, duration_ms) "
                    "VALUES (5000, 'x', 'y', 0)"),
        // The dashboard's facts are the database's to write (migration 0010).
        std::string("UPDATE request_facts SET status = 'APPROVED'"),
        std::string("DELETE FROM request_facts"),
        fmt::format("INSERT INTO request_facts (request_id, project_id, direction, status, "
                    "review_round, created_us) VALUES ('{}', '{}', 'egress', 'DRAFT', 1, 0)",
                    g.request, g.project),
        std::string("UPDATE request_stays SET left_us = 0"),
        std::string("UPDATE review_facts SET decision = 'rejected'"),
        fmt::format("INSERT INTO request_stays (request_id, entered_us, event_seq, state) "
                    "VALUES ('{}', 0, 0, 'DRAFT')",
                    g.request)}) {
    const auto e = attempt(sql);
    CHECK_MESSAGE(e.code() == errc::forbidden, sql, " -> ", e.what());
    CHECK_MESSAGE(std::string(e.what()).find("permission denied") != std::string::npos, sql);
  }
  // What the application needs still works.
  l->sql << fmt::format(
      "INSERT INTO audit_events (id, actor, event_type, payload) "
      "VALUES ('{}', 'system', 'project.synced', '{{}}')",
      uuid::v7().str());
  l->sql << fmt::format("UPDATE airlock_requests SET status = 'SUBMITTED' WHERE id = '{}'",
                        g.request);
  // ... and the triggers, which run as the schema owner, kept its facts.
  std::string fact_status;
  l->sql << fmt::format("SELECT status FROM request_facts WHERE request_id = '{}'", g.request),
      soci::into(fact_status);
  CHECK(fact_status == "SUBMITTED");
  l->sql << fmt::format(
      "INSERT INTO project_memberships (id, user_id, project_id, role) "
      "VALUES ('{}', '{}', '{}', 'researcher')",
      uuid::v7().str(), g.researcher, g.project);
  l->sql << "DELETE FROM project_memberships";
  // A release's heartbeat: written and moved by the releasing daemon.
  l->sql << fmt::format(
      "INSERT INTO release_heartbeats (request_id, release_id, holder) VALUES ('{}', '{}', 'h:1')",
      g.request, uuid::v7().str());
  l->sql << "UPDATE release_heartbeats SET beat_at = now()";
  long long n = 0;
  l->sql << "SELECT count(*) FROM audit_events", soci::into(n);
  CHECK(n == 2);
}

TEST_CASE("granting needs PostgreSQL and a plain role name") {
  fresh_database f;
  if (f.db().kind() == engine::sqlite) {
    CHECK(trevor::test::thrown_by([&] { grant_application_role(f.db(), "app"); }).code() ==
          errc::invalid_argument);
  } else {
    const auto e =
        trevor::test::thrown_by([&] { grant_application_role(f.db(), "app; DROP TABLE users"); });
    CHECK(e.code() == errc::invalid_argument);
    CHECK(f.count("SELECT count(*) FROM users") == 0);
  }
}
