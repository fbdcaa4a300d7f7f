// The admin dashboard's read models over a hand-built fixture with known
// times: request overview, pipeline metrics, checker performance, project
// summaries, stuck requests; every expected value below is worked out by
// hand from the fixture (see the comments), and the PostgreSQL run also
// builds the fixture on SQLite and requires identical results.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "db/transaction.hpp"
#include "store/audit_store.hpp"
#include "support.hpp"
#include "trevor/dashboard.hpp"
#include "trevor/migrate.hpp"

namespace trevor {
namespace {

using test::fresh_database;
using test::thrown_by;

// ------------------------------------------------------------------ fixture
//
// Times are hours after T0 = 2026-01-01T00:00:00Z.
//
// People: admin; researcher Rosa Researcher (P1, P2); checkers Carl Checker
// (P1, P2) and c2 (no names; P1); senior checker Sam Senior (P1); an outsider.
// Projects: alpha (P1), beta (P2), gamma (P3, no requests).
//
// Requests (status changes → audit events with payload.to):
//  Q1 alpha egress RELEASED: created 0, submitted 1, HUMAN_REVIEW 2, agent
//     approves 2, Carl approves 5 (accepts the agent's findings), c2 approves
//     11 → APPROVED 11, RELEASING 20, RELEASED 21. 2 objects APPROVED.
//  Q2 alpha egress APPROVED: created 10, submitted 12, HUMAN_REVIEW 12, Carl
//     asks for changes 14, c2 approves 16 → CHANGES_REQUESTED 16; resubmitted
//     30 (round 2), HUMAN_REVIEW 30, Carl approves 33, c2 approves 36 →
//     APPROVED 36. Objects: v1 SUPERSEDED, v2 APPROVED, another APPROVED.
//  Q3 alpha ingress REJECTED: created 20, submitted 22, HUMAN_REVIEW 22, Carl
//     rejects 23, c2 rejects 30 → REJECTED 30. 1 object REJECTED.
//  Q4 beta egress CHANGES_REQUESTED: created 40, submitted 41, HUMAN_REVIEW
//     41, agent approves 41, Carl asks for changes 47 (does not accept the
//     findings) → CHANGES_REQUESTED 47. 1 object CHANGES_REQUESTED.
//  Q5 alpha egress HUMAN_REVIEW: created 50, submitted 51, HUMAN_REVIEW 51,
//     Sam approves 60 (round still open). 1 object PENDING.
//  Q6 beta egress WITHDRAWN: created 60, withdrawn 61 (never submitted).
//     1 object PENDING.
//  Q7 alpha egress DRAFT: created 70. 1 object PENDING.
//  Q8 alpha egress SUBMITTED: created -100 (before the window), submitted 150.
//     1 object PENDING.
constexpr std::int64_t t0_us = std::int64_t{1767225600} * 1000000;

std::string at(double hours) {
  return timestamp(t0_us + static_cast<std::int64_t>(std::llround(hours * 3600e6))).str();
}
timestamp ts(double hours) {
  return timestamp(t0_us + static_cast<std::int64_t>(std::llround(hours * 3600e6)));
}
uuid id_of(unsigned kind, unsigned n) {
  return *uuid::parse(fmt::format("{:08x}-0000-7000-8000-{:012x}", kind, n));
}

struct fixture {
  uuid admin = id_of(1, 1), rosa = id_of(1, 2), carl = id_of(1, 3), c2 = id_of(1, 4),
       sam = id_of(1, 5), outsider = id_of(1, 6);
  uuid p1 = id_of(2, 1), p2 = id_of(2, 2), p3 = id_of(2, 3);
  uuid q[9] = {uuid(),      id_of(3, 1), id_of(3, 2), id_of(3, 3), id_of(3, 4),
               id_of(3, 5), id_of(3, 6), id_of(3, 7), id_of(3, 8)};

  actor as_admin() const { return {admin, true}; }
  actor as(const uuid& u) const { return {u, false}; }

  explicit fixture(fresh_database& db) {
    auto& d = db;
    const auto user = [&](const uuid& id, const char* name, const char* given, const char* family) {
      d.exec(
          fmt::format("INSERT INTO users (id, username, given_name, family_name, created_at, "
                      "updated_at) VALUES ('{}', '{}', '{}', '{}', '{}', '{}')",
                      id.str(), name, given, family, at(-1000), at(-1000)));
    };
    user(admin, "admin", "Ada", "Admin");
    user(rosa, "rosa", "Rosa", "Researcher");
    user(carl, "carl", "Carl", "Checker");
    user(c2, "c2", "", "");
    user(sam, "sam", "Sam", "Senior");
    user(outsider, "olly", "Olly", "Outsider");
    const auto project = [&](const uuid& id, const char* name) {
      d.exec(
          fmt::format("INSERT INTO projects (id, name, display_name, created_at, updated_at) "
                      "VALUES ('{}', '{}', 'Project {}', '{}', '{}')",
                      id.str(), name, name, at(-1000), at(-1000)));
    };
    project(p1, "alpha");
    project(p2, "beta");
    project(p3, "gamma");
    unsigned membership = 0;
    const auto member = [&](const uuid& u, const uuid& p, const char* role) {
      d.exec(
          fmt::format("INSERT INTO project_memberships (id, user_id, project_id, role) "
                      "VALUES ('{}', '{}', '{}', '{}')",
                      id_of(4, ++membership).str(), u.str(), p.str(), role));
    };
    member(rosa, p1, "researcher");
    member(rosa, p2, "researcher");
    member(carl, p1, "output_checker");
    member(carl, p2, "output_checker");
    member(c2, p1, "output_checker");
    member(sam, p1, "senior_checker");

    const auto request = [&](int n, const uuid& p, const char* dir, const char* status, int round,
                             std::optional<double> submitted, std::optional<double> closed,
                             double created, double updated) {
      const auto opt = [](std::optional<double> h) {
        return h ? fmt::format("'{}'", at(*h)) : std::string("NULL");
      };
      d.exec(fmt::format(
          "INSERT INTO airlock_requests (id, project_id, direction, status, title, owner_id, "
          "review_round, submitted_at, closed_at, created_at, updated_at) VALUES ('{}', '{}', "
          "'{}', '{}', 'Request {}', '{}', {}, {}, {}, '{}', '{}')",
          q[n].str(), p.str(), dir, status, n, rosa.str(), round, opt(submitted), opt(closed),
          at(created), at(updated)));
    };
    request(1, p1, "egress", "RELEASED", 1, 1, 11, 0, 21);
    request(2, p1, "egress", "APPROVED", 2, 30, 36, 10, 36);
    request(3, p1, "ingress", "REJECTED", 1, 22, 30, 20, 30);
    request(4, p2, "egress", "CHANGES_REQUESTED", 1, 41, std::nullopt, 40, 47);
    request(5, p1, "egress", "HUMAN_REVIEW", 1, 51, std::nullopt, 50, 51);
    request(6, p2, "egress", "WITHDRAWN", 1, std::nullopt, 61, 60, 61);
    request(7, p1, "egress", "DRAFT", 1, std::nullopt, std::nullopt, 70, 70);
    request(8, p1, "egress", "SUBMITTED", 1, 150, std::nullopt, -100, 150);

    unsigned object = 0;
    const auto obj = [&](int n, const char* state, double created, int version = 1,
                         std::optional<uuid> replaces = std::nullopt,
                         std::optional<uuid> logical = std::nullopt) {
      const uuid id = id_of(5, ++object);
      d.exec(fmt::format(
          "INSERT INTO output_objects (id, request_id, logical_object_id, version, replaces_id, "
          "filename, output_type, storage_key, state, uploaded_by, created_at) VALUES ('{}', "
          "'{}', '{}', {}, {}, 'f{}.csv', 'tabular', 'k{}', '{}', '{}', '{}')",
          id.str(), q[n].str(), logical.value_or(id).str(), version,
          replaces ? fmt::format("'{}'", replaces->str()) : std::string("NULL"), object, object,
          state, rosa.str(), at(created)));
      return id;
    };
    obj(1, "APPROVED", 0.5);
    obj(1, "APPROVED", 0.5);
    const uuid q2v1 = obj(2, "SUPERSEDED", 11);
    obj(2, "APPROVED", 20, 2, q2v1, q2v1);
    obj(2, "APPROVED", 11);
    obj(3, "REJECTED", 21);
    obj(4, "CHANGES_REQUESTED", 40.5);
    obj(5, "PENDING", 50.5);
    obj(6, "PENDING", 60.5);
    obj(7, "PENDING", 70.5);
    obj(8, "PENDING", 149);

    unsigned review = 0;
    const auto rev = [&](int n, int round, std::optional<uuid> who, const char* decision,
                         bool accepted, double h) {
      d.exec(fmt::format(
          "INSERT INTO reviews (id, request_id, round, reviewer_type, reviewer_id, decision, "
          "accepted_agent_findings, created_at) VALUES ('{}', '{}', {}, '{}', {}, '{}', {}, "
          "'{}')",
          id_of(6, ++review).str(), q[n].str(), round, who ? "human" : "agent",
          who ? fmt::format("'{}'", who->str()) : std::string("NULL"), decision,
          accepted ? "TRUE" : "FALSE", at(h)));
    };
    rev(1, 1, std::nullopt, "approved", false, 2);
    rev(1, 1, carl, "approved", true, 5);
    rev(1, 1, c2, "approved", false, 11);
    rev(2, 1, carl, "changes_requested", false, 14);
    rev(2, 1, c2, "approved", false, 16);
    rev(2, 2, carl, "approved", false, 33);
    rev(2, 2, c2, "approved", false, 36);
    rev(3, 1, carl, "rejected", false, 23);
    rev(3, 1, c2, "rejected", false, 30);
    rev(4, 1, std::nullopt, "approved", false, 41);
    rev(4, 1, carl, "changes_requested", false, 47);
    rev(5, 1, sam, "approved", false, 60);

    unsigned event = 0;
    const auto ev = [&](int n, double h, const char* type, const char* to, const uuid& p,
                        const std::string& actor) {
      const std::string payload =
          to ? fmt::format(R"({{"to": "{}", "round": 1}})", to) : std::string(R"({"n": 1})");
      d.exec(fmt::format(
          "INSERT INTO audit_events (id, occurred_at, actor, event_type, request_id, project_id, "
          "payload) VALUES ('{}', '{}', '{}', '{}', '{}', '{}', '{}')",
          id_of(7, ++event).str(), at(h), actor, type, q[n].str(), p.str(), payload));
    };
    const std::string r = rosa.str(), sys = "system";
    ev(1, 0, "request.created", "DRAFT", p1, r);
    ev(1, 1, "request.submitted", "SUBMITTED", p1, r);
    ev(1, 2, "request.human_review_started", "HUMAN_REVIEW", p1, sys);
    ev(1, 5, "review.created", nullptr, p1, carl.str());
    ev(1, 11, "request.approved", "APPROVED", p1, c2.str());
    ev(1, 20, "request.releasing", "RELEASING", p1, admin.str());
    ev(1, 21, "request.released", "RELEASED", p1, admin.str());
    ev(2, 10, "request.created", "DRAFT", p1, r);
    ev(2, 12, "request.submitted", "SUBMITTED", p1, r);
    ev(2, 12, "request.human_review_started", "HUMAN_REVIEW", p1, sys);
    ev(2, 16, "request.changes_requested", "CHANGES_REQUESTED", p1, c2.str());
    ev(2, 30, "request.resubmitted", "SUBMITTED", p1, r);
    ev(2, 30, "request.human_review_started", "HUMAN_REVIEW", p1, sys);
    ev(2, 36, "request.approved", "APPROVED", p1, c2.str());
    ev(3, 20, "request.created", "DRAFT", p1, r);
    ev(3, 22, "request.submitted", "SUBMITTED", p1, r);
    ev(3, 22, "request.human_review_started", "HUMAN_REVIEW", p1, sys);
    ev(3, 30, "request.rejected", "REJECTED", p1, c2.str());
    ev(4, 40, "request.created", "DRAFT", p2, r);
    ev(4, 41, "request.submitted", "SUBMITTED", p2, r);
    ev(4, 41, "request.human_review_started", "HUMAN_REVIEW", p2, sys);
    ev(4, 47, "request.changes_requested", "CHANGES_REQUESTED", p2, carl.str());
    ev(5, 50, "request.created", "DRAFT", p1, r);
    ev(5, 51, "request.submitted", "SUBMITTED", p1, r);
    ev(5, 51, "request.human_review_started", "HUMAN_REVIEW", p1, sys);
    ev(5, 100, "request.stuck", nullptr, p1, sys);  // not a status change
    ev(6, 60, "request.created", "DRAFT", p2, r);
    ev(6, 61, "request.withdrawn", "WITHDRAWN", p2, r);
    ev(7, 70, "request.created", "DRAFT", p1, r);
    ev(8, -100, "request.created", "DRAFT", p1, r);
    ev(8, 150, "request.submitted", "SUBMITTED", p1, r);
  }
};

constexpr double eps = 1e-9;
bool near(const std::optional<double>& v, double expected) {
  return v && std::fabs(*v - expected) < eps;
}

std::vector<uuid> ids_of(const overview_page& p) {
  std::vector<uuid> out;
  for (const auto& it : p.items) out.push_back(it.id);
  return out;
}

window_query whole_window() {
  window_query w;
  w.since = ts(0);
  w.until = ts(1000);
  w.as_of = ts(200);
  return w;
}

std::int64_t status_count(const std::vector<std::pair<request_status, std::int64_t>>& v,
                          request_status s) {
  for (const auto& [k, n] : v)
    if (k == s) return n;
  FAIL("status missing");
  return -1;
}

const percentiles& in_state(const pipeline_metrics& m, request_status s) {
  for (const auto& [k, p] : m.hours_in_state)
    if (k == s) return p;
  FAIL("state missing");
  return m.hours_in_state.front().second;
}

// ------------------------------------------------------------------ overview

TEST_CASE(
    "request overview: non-DRAFT requests with names, counts and ages; filters, sort, paging") {
  fresh_database db;
  const fixture f(db);
  dashboard board(db.db());
  overview_query q;
  q.as_of = ts(200);

  auto page = board.request_overview(f.as_admin(), q);
  CHECK(page.total == 7);
  // -updated_at: Q8 150, Q6 61, Q5 51, Q4 47, Q2 36, Q3 30, Q1 21.
  CHECK(ids_of(page) == std::vector{f.q[8], f.q[6], f.q[5], f.q[4], f.q[2], f.q[3], f.q[1]});
  const auto& q2 = page.items[4];
  CHECK(q2.project_id == f.p1);
  CHECK(q2.project_name == "alpha");
  CHECK(q2.title == "Request 2");
  CHECK(q2.status == request_status::approved);
  CHECK(q2.direction == direction::egress);
  CHECK(q2.owner_id == f.rosa);
  CHECK(q2.owner_name == "Rosa Researcher");
  CHECK(q2.object_count == 2);  // the superseded version is not counted
  CHECK(q2.submitted_at == ts(30));
  CHECK(q2.created_at == ts(10));
  CHECK(q2.updated_at == ts(36));
  CHECK(q2.age_hours == doctest::Approx(190).epsilon(1e-12));
  CHECK(page.items[0].age_hours == doctest::Approx(300).epsilon(1e-12));  // created at -100
  CHECK_FALSE(page.items[1].submitted_at.has_value());                    // withdrawn as a draft

  SUBCASE("filters: statuses, project, direction") {
    q.statuses = {request_status::human_review, request_status::submitted};
    page = board.request_overview(f.as_admin(), q);
    CHECK(page.total == 2);
    CHECK(ids_of(page) == std::vector{f.q[8], f.q[5]});
    q.statuses.clear();
    q.project_id = f.p2;
    CHECK(ids_of(board.request_overview(f.as_admin(), q)) == std::vector{f.q[6], f.q[4]});
    q.project_id.reset();
    q.direction = direction::ingress;
    page = board.request_overview(f.as_admin(), q);
    CHECK(page.total == 1);
    CHECK(ids_of(page) == std::vector{f.q[3]});
  }
  SUBCASE("paging keeps the total") {
    q.limit = 2;
    q.offset = 2;
    page = board.request_overview(f.as_admin(), q);
    CHECK(page.total == 7);
    CHECK(ids_of(page) == std::vector{f.q[5], f.q[4]});
    q.offset = 7;
    page = board.request_overview(f.as_admin(), q);
    CHECK(page.total == 7);
    CHECK(page.items.empty());
  }
  SUBCASE("sort by submission, both directions; never submitted sorts last ascending") {
    q.sort = overview_sort::submitted_at;
    q.descending = false;
    CHECK(ids_of(board.request_overview(f.as_admin(), q)) ==
          std::vector{f.q[1], f.q[3], f.q[2], f.q[4], f.q[5], f.q[8], f.q[6]});
    q.descending = true;
    CHECK(ids_of(board.request_overview(f.as_admin(), q)) ==
          std::vector{f.q[6], f.q[8], f.q[5], f.q[4], f.q[2], f.q[3], f.q[1]});
    q.sort = overview_sort::created_at;
    q.descending = false;
    CHECK(ids_of(board.request_overview(f.as_admin(), q)) ==
          std::vector{f.q[8], f.q[1], f.q[2], f.q[3], f.q[4], f.q[5], f.q[6]});
    q.sort = overview_sort::status;
    CHECK(ids_of(board.request_overview(f.as_admin(), q)) ==
          std::vector{f.q[2], f.q[4], f.q[5], f.q[3], f.q[1], f.q[8], f.q[6]});
  }
  SUBCASE("bad input") {
    q.limit = 0;
    CHECK(thrown_by([&] { board.request_overview(f.as_admin(), q); }).code() ==
          errc::invalid_argument);
    q.limit = 101;
    CHECK(thrown_by([&] { board.request_overview(f.as_admin(), q); }).code() ==
          errc::invalid_argument);
    q.limit = 10;
    q.offset = -1;
    CHECK(thrown_by([&] { board.request_overview(f.as_admin(), q); }).code() ==
          errc::invalid_argument);
    q.offset = 0;
    q.statuses = {request_status::draft};
    const auto e = thrown_by([&] { board.request_overview(f.as_admin(), q); });
    CHECK(e.code() == errc::invalid_argument);
    CHECK(std::string(e.what()).find("status") != std::string::npos);
  }
}

TEST_CASE("overview ties: equal sort keys are ordered by id, so pages neither repeat nor skip") {
  fresh_database db;
  const fixture f(db);
  dashboard board(db.db());
  overview_query q;
  q.as_of = ts(200);
  q.sort = overview_sort::status;  // Q2..Q8 have distinct statuses; add two more HUMAN_REVIEW
  for (unsigned n : {20u, 21u, 22u})
    db.exec(fmt::format(
        "INSERT INTO airlock_requests (id, project_id, direction, status, title, owner_id, "
        "submitted_at, created_at, updated_at) VALUES ('{}', '{}', 'egress', 'HUMAN_REVIEW', "
        "'tie', '{}', '{}', '{}', '{}')",
        id_of(3, n).str(), f.p1.str(), f.rosa.str(), at(51), at(51), at(51)));
  q.statuses = {request_status::human_review};
  q.sort = overview_sort::updated_at;
  q.descending = false;
  std::vector<uuid> seen;
  for (q.offset = 0; q.offset < 4; ++q.offset) {
    q.limit = 1;
    const auto page = board.request_overview(f.as_admin(), q);
    CHECK(page.total == 4);
    REQUIRE(page.items.size() == 1);
    seen.push_back(page.items[0].id);
  }
  // Four requests changed at hour 51: by id ascending.
  CHECK(seen == std::vector{f.q[5], id_of(3, 20), id_of(3, 21), id_of(3, 22)});
}

// ------------------------------------------------------------------- metrics

TEST_CASE("pipeline metrics: counts, rates, percentiles, time in state, stuck requests") {
  fresh_database db;
  const fixture f(db);
  dashboard board(db.db());
  const auto m = board.metrics(f.as_admin(), whole_window());

  CHECK(m.since == ts(0));
  CHECK(m.until == ts(1000));
  // Q1..Q7 were created in the window; Q8 before it.
  CHECK(m.total_requests == 7);
  CHECK(status_count(m.by_status, request_status::draft) == 1);
  CHECK(status_count(m.by_status, request_status::submitted) == 0);
  CHECK(status_count(m.by_status, request_status::human_review) == 1);
  CHECK(status_count(m.by_status, request_status::changes_requested) == 1);
  CHECK(status_count(m.by_status, request_status::approved) == 1);
  CHECK(status_count(m.by_status, request_status::released) == 1);
  CHECK(status_count(m.by_status, request_status::rejected) == 1);
  CHECK(status_count(m.by_status, request_status::withdrawn) == 1);
  CHECK(status_count(m.by_status, request_status::revoked) == 0);
  CHECK(m.by_status.size() == 11);  // every status, zeros included
  CHECK(m.by_direction == std::vector<std::pair<direction, std::int64_t>>{{direction::egress, 6},
                                                                          {direction::ingress, 1}});
  // Decided: Q1 RELEASED, Q2 APPROVED, Q3 REJECTED, Q4 CHANGES_REQUESTED.
  CHECK(near(m.approval_rate, 0.5));
  CHECK(near(m.revision_rate, 0.25));
  CHECK(near(m.rejection_rate, 0.25));
  // First human review after the first submission: Q3 1, Q2 2, Q1 4, Q4 6,
  // Q5 9 → median 4; p90: h = 3.6 → 6 + 0.6 × 3 = 7.8.
  CHECK(near(m.hours_to_first_review.median, 4));
  CHECK(near(m.hours_to_first_review.p90, 7.8));
  // Decision after the first submission: Q4 6, Q3 8, Q1 10, Q2 24 →
  // median 9; p90: h = 2.7 → 10 + 0.7 × 14 = 19.8.
  CHECK(near(m.hours_to_decision.median, 9));
  CHECK(near(m.hours_to_decision.p90, 19.8));
  // Revisions of the submitted requests Q1..Q5: 0, 1, 0, 0, 0.
  CHECK(near(m.median_revisions_per_request, 0));
  // Completed stays. DRAFT: 1, 2, 2, 1, 1, 1 → median 1; p90: h = 4.5 → 2.
  CHECK(near(in_state(m, request_status::draft).median, 1));
  CHECK(near(in_state(m, request_status::draft).p90, 2));
  // SUBMITTED: Q1 1, Q2 0 and 0, Q3 0, Q4 0, Q5 0 → median 0; p90: h = 4.5 → 0.5.
  CHECK(near(in_state(m, request_status::submitted).median, 0));
  CHECK(near(in_state(m, request_status::submitted).p90, 0.5));
  // HUMAN_REVIEW: Q1 9, Q2 4 and 6, Q3 8, Q4 6 (Q5 still there) → median 6;
  // p90: h = 3.6 → 8 + 0.6 × 1 = 8.6. The request.stuck event is no change.
  CHECK(near(in_state(m, request_status::human_review).median, 6));
  CHECK(near(in_state(m, request_status::human_review).p90, 8.6));
  CHECK(near(in_state(m, request_status::changes_requested).median, 14));
  CHECK(near(in_state(m, request_status::changes_requested).p90, 14));
  CHECK(near(in_state(m, request_status::approved).median, 9));
  CHECK(near(in_state(m, request_status::releasing).median, 1));
  CHECK(in_state(m, request_status::agent_review) == percentiles{});
  CHECK(m.hours_in_state.size() == 7);
  // Stuck (72 h before hour 200 = hour 128): Q5 since 51. Q8 changed at 150.
  REQUIRE(m.stuck_requests.size() == 1);
  CHECK(m.stuck_requests[0] ==
        stuck_request{f.q[5], "Request 5", request_status::human_review, ts(51), 149});
}

TEST_CASE("pipeline metrics: an empty window gives nulls, never zeros or NaN") {
  fresh_database db;
  const fixture f(db);
  dashboard board(db.db());
  window_query w;
  w.since = ts(2000);
  w.until = ts(3000);
  w.as_of = ts(200);
  const auto m = board.metrics(f.as_admin(), w);
  CHECK(m.total_requests == 0);
  for (const auto& [s, n] : m.by_status) CHECK(n == 0);
  for (const auto& [d, n] : m.by_direction) CHECK(n == 0);
  CHECK_FALSE(m.approval_rate.has_value());
  CHECK_FALSE(m.revision_rate.has_value());
  CHECK_FALSE(m.rejection_rate.has_value());
  CHECK(m.hours_to_first_review == percentiles{});
  CHECK(m.hours_to_decision == percentiles{});
  CHECK_FALSE(m.median_revisions_per_request.has_value());
  for (const auto& [s, p] : m.hours_in_state) CHECK(p == percentiles{});
  // Stuck requests ignore the window.
  CHECK(m.stuck_requests.size() == 1);
}

TEST_CASE("pipeline metrics: project filter, default window, stuck threshold 0") {
  fresh_database db;
  const fixture f(db);
  SUBCASE("one project") {
    dashboard board(db.db());
    auto w = whole_window();
    w.project_id = f.p2;
    const auto m = board.metrics(f.as_admin(), w);
    CHECK(m.total_requests == 2);  // Q4, Q6
    CHECK(near(m.revision_rate, 1));
    CHECK(near(m.approval_rate, 0));
    CHECK(near(m.hours_to_decision.median, 6));
    CHECK(near(m.hours_to_decision.p90, 6));
    CHECK(m.stuck_requests.empty());  // Q5 is alpha's
  }
  SUBCASE("the default window is the 30 days before now") {
    dashboard board(db.db());
    window_query w;
    w.as_of = ts(30 * 24 + 35);  // the window starts at hour 35: Q4..Q7
    const auto m = board.metrics(f.as_admin(), w);
    CHECK(m.until == ts(30 * 24 + 35));
    CHECK(m.since == ts(35));
    CHECK(m.total_requests == 4);
  }
  SUBCASE("TREVOR_STUCK_HOURS=0 lists every waiting request") {
    dashboard board(db.db(), std::chrono::hours(0));
    const auto m = board.metrics(f.as_admin(), whole_window());
    REQUIRE(m.stuck_requests.size() == 2);
    CHECK(m.stuck_requests[0].request_id == f.q[5]);
    CHECK(m.stuck_requests[1] ==
          stuck_request{f.q[8], "Request 8", request_status::submitted, ts(150), 50});
  }
  SUBCASE("since after until is refused") {
    dashboard board(db.db());
    window_query w;
    w.since = ts(10);
    w.until = ts(5);
    CHECK(thrown_by([&] { board.metrics(f.as_admin(), w); }).code() == errc::invalid_argument);
  }
  SUBCASE("since in the future without until is the empty window, not an error") {
    dashboard board(db.db());
    window_query w;
    w.as_of = ts(100);
    w.since = ts(150);  // after every request of the fixture but not after as_of: nothing yet
    for (const auto since : {ts(150), ts(100)}) {
      w.since = since;
      const auto m = board.metrics(f.as_admin(), w);
      CHECK(m.since == since);
      CHECK(m.until == since);
      CHECK(m.total_requests == 0);
      for (const auto& [s, n] : m.by_status) CHECK(n == 0);
      CHECK_FALSE(m.approval_rate.has_value());
      CHECK(m.hours_to_decision == percentiles{});
      CHECK_FALSE(m.median_revisions_per_request.has_value());
    }
    // With an explicit until before it, still refused.
    w.since = ts(150);
    w.until = ts(120);
    CHECK(thrown_by([&] { board.metrics(f.as_admin(), w); }).code() == errc::invalid_argument);
  }
}

// ------------------------------------------------------------------ checkers

TEST_CASE("checker performance: reviews by decision, median turnaround, accepted findings") {
  fresh_database db;
  const fixture f(db);
  dashboard board(db.db());
  const auto rows = board.checkers(f.as_admin(), {});
  REQUIRE(rows.size() == 3);
  // Carl: Q1 approved (4 h after the round's start at 1), Q2 round 1 changes
  // (2), Q2 round 2 approved (3, from the resubmission at 30), Q3 rejected
  // (1), Q4 changes (6) → median 3. Agent-approved rounds: Q1 (accepted), Q4.
  CHECK(rows[0] == checker_performance{f.carl, "Carl Checker", 5, 2, 2, 1, 3.0, 0.5});
  // c2: Q1 10, Q2 4 and 6, Q3 8 → median 7; agent-approved round Q1, not accepted.
  CHECK(rows[1] == checker_performance{f.c2, "c2", 4, 3, 0, 1, 7.0, 0.0});
  // Sam: Q5 9 h; no agent round → no share.
  CHECK(rows[2] == checker_performance{f.sam, "Sam Senior", 1, 1, 0, 0, 9.0, std::nullopt});

  window_query w;
  w.since = ts(20);
  const auto recent = board.checkers(f.as_admin(), w);
  REQUIRE(recent.size() == 3);
  CHECK(recent[0].reviewer_id == f.carl);
  CHECK(recent[0].reviews == 3);                      // 23, 33, 47
  CHECK(near(recent[0].median_turnaround_hours, 3));  // 1, 3, 6
  CHECK(recent[1].reviews == 2);                      // c2: 30, 36
  w.since = ts(5000);
  CHECK(board.checkers(f.as_admin(), w).empty());
}

// ------------------------------------------------------------------ projects

TEST_CASE("project summaries: requests by status, objects, releases, median time to decision") {
  fresh_database db;
  const fixture f(db);
  dashboard board(db.db());
  const auto rows = board.projects(f.as_admin(), {});
  REQUIRE(rows.size() == 3);
  const auto& alpha = rows[0];
  CHECK(alpha.project_id == f.p1);
  CHECK(alpha.name == "alpha");
  CHECK(alpha.display_name == "Project alpha");
  CHECK(status_count(alpha.by_status, request_status::released) == 1);
  CHECK(status_count(alpha.by_status, request_status::approved) == 1);
  CHECK(status_count(alpha.by_status, request_status::rejected) == 1);
  CHECK(status_count(alpha.by_status, request_status::human_review) == 1);
  CHECK(status_count(alpha.by_status, request_status::draft) == 1);
  CHECK(status_count(alpha.by_status, request_status::submitted) == 1);
  CHECK(status_count(alpha.by_status, request_status::withdrawn) == 0);
  // Submitted requests' objects: Q1 2, Q2 3 (all versions), Q3 1, Q5 1, Q8 1;
  // the draft Q7's object is not counted.
  CHECK(alpha.objects_submitted == 8);
  CHECK(alpha.objects_approved == 4);
  CHECK(alpha.objects_released == 2);
  CHECK(alpha.releases == 1);
  CHECK(near(alpha.median_hours_to_decision, 10));  // 8, 10, 24

  const auto& beta = rows[1];
  CHECK(beta.name == "beta");
  CHECK(status_count(beta.by_status, request_status::changes_requested) == 1);
  CHECK(status_count(beta.by_status, request_status::withdrawn) == 1);
  CHECK(beta.objects_submitted == 1);  // Q6 was never submitted
  CHECK(beta.objects_approved == 0);
  CHECK(beta.releases == 0);
  CHECK(near(beta.median_hours_to_decision, 6));

  const auto& gamma = rows[2];
  CHECK(gamma.name == "gamma");
  for (const auto& [s, n] : gamma.by_status) CHECK(n == 0);
  CHECK(gamma.objects_submitted == 0);
  CHECK_FALSE(gamma.median_hours_to_decision.has_value());

  window_query w;  // requests created from hour 15: Q3..Q7
  w.since = ts(15);
  const auto recent = board.projects(f.as_admin(), w);
  CHECK(recent[0].objects_submitted == 2);  // Q3 1, Q5 1
  CHECK(status_count(recent[0].by_status, request_status::released) == 0);
  CHECK(near(recent[0].median_hours_to_decision, 8));
}

// ------------------------------------------------------------------- access

TEST_CASE(
    "dashboard access: tre_admin everything, a senior checker their projects, others nothing") {
  fresh_database db;
  const fixture f(db);
  // Scope alone: independent review (which hides open rounds from a senior
  // checker's figures) is off here and checked below.
  dashboard board(db.db(), std::chrono::hours(72), false);
  overview_query q;
  q.as_of = ts(200);

  // Sam is a senior checker on alpha only.
  const auto page = board.request_overview(f.as(f.sam), q);
  CHECK(page.total == 5);  // Q1, Q2, Q3, Q5, Q8
  for (const auto& it : page.items) CHECK(it.project_id == f.p1);
  const auto projects = board.projects(f.as(f.sam), {});
  REQUIRE(projects.size() == 1);
  CHECK(projects[0].project_id == f.p1);
  const auto m = board.metrics(f.as(f.sam), whole_window());
  CHECK(m.total_requests == 5);  // Q1, Q2, Q3, Q5, Q7
  // Carl's reviews on beta (Q4) are outside Sam's view.
  const auto checkers = board.checkers(f.as(f.sam), {});
  REQUIRE(checkers.size() == 3);
  CHECK(checkers[0].reviewer_id == f.carl);
  CHECK(checkers[0].reviews == 4);
  // With independent review (the default) the reviews of rounds still open
  // are left out of Sam's figures, not of tre_admin's.
  const dashboard independent(db.db());
  const auto total = [](const std::vector<checker_performance>& v) {
    std::int64_t n = 0;
    for (const auto& p : v) n += p.reviews;
    return n;
  };
  CHECK(total(independent.checkers(f.as(f.sam), {})) < total(checkers));
  CHECK(independent.checkers(f.as_admin(), {}) == board.checkers(f.as_admin(), {}));

  window_query beta;
  beta.project_id = f.p2;
  CHECK(thrown_by([&] { board.projects(f.as(f.sam), beta); }).code() == errc::forbidden);
  q.project_id = f.p2;
  CHECK(thrown_by([&] { board.request_overview(f.as(f.sam), q); }).code() == errc::forbidden);
  q.project_id.reset();

  for (const auto& who : {f.carl, f.rosa, f.outsider}) {
    CAPTURE(who.str());
    CHECK(thrown_by([&] { board.request_overview(f.as(who), q); }).code() == errc::forbidden);
    CHECK(thrown_by([&] { board.metrics(f.as(who), {}); }).code() == errc::forbidden);
    CHECK(thrown_by([&] { board.checkers(f.as(who), {}); }).code() == errc::forbidden);
    CHECK(thrown_by([&] { board.projects(f.as(who), {}); }).code() == errc::forbidden);
  }
  // A deactivated admin is refused too.
  db.exec(fmt::format("UPDATE users SET active = FALSE WHERE id = '{}'", f.admin.str()));
  CHECK(thrown_by([&] { board.projects(f.as_admin(), {}); }).code() == errc::forbidden);
}

// ------------------------------------------------------------------- audit

TEST_CASE("audit search over events with equal times: newest first by seq, pages never repeat") {
  fresh_database db;
  const fixture f(db);
  dashboard board(db.db());
  audit_query q;
  q.request_id = f.q[2];  // two pairs of events share a time (hours 12 and 30)
  q.limit = 1;
  std::vector<std::string> types;
  std::vector<uuid> seen;
  for (;;) {
    const auto page = board.audit_search(f.as_admin(), q);
    for (const auto& e : page.items) {
      types.push_back(e.event_type);
      seen.push_back(e.id);
    }
    if (page.next_cursor.empty()) break;
    q.cursor = page.next_cursor;
  }
  CHECK(types == std::vector<std::string>{"request.approved", "request.human_review_started",
                                          "request.resubmitted", "request.changes_requested",
                                          "request.human_review_started", "request.submitted",
                                          "request.created"});
  std::sort(seen.begin(), seen.end());
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
}

// ------------------------------------------------- facts kept by the database

TEST_CASE(
    "request facts and stays: the triggers keep them in step with the audit trail, "
    "whatever the order events arrive in") {
  fresh_database d;
  const fixture f(d);
  CHECK(test::facts_disagreeing_with_trail(d) == 0);
  CHECK(d.count("SELECT count(*) FROM request_facts") == 8);
  // 31 events, of which review.created and request.stuck change no status.
  CHECK(d.count("SELECT count(*) FROM request_stays") == 29);
  CHECK(d.count("SELECT count(*) FROM request_stays WHERE left_us IS NULL") == 8);
  CHECK(d.count("SELECT count(*) FROM review_facts") == 10);  // the human reviews
  CHECK(d.count("SELECT count(*) FROM review_facts WHERE agent_approved") == 3);

  // A request whose status changes are inserted in a shuffled order, some in
  // the same microsecond (their seq orders them): after every insert the
  // stays are those the trail gives.
  const uuid q9 = id_of(3, 9);
  d.exec(fmt::format(
      "INSERT INTO airlock_requests (id, project_id, direction, status, title, owner_id, "
      "created_at, updated_at) VALUES ('{}', '{}', 'egress', 'DRAFT', 'Shuffled', '{}', '{}', "
      "'{}')",
      q9.str(), f.p1.str(), f.rosa.str(), at(300), at(300)));
  std::vector<std::pair<double, const char*>> changes{
      {300, "DRAFT"},        {301, "SUBMITTED"},         {302, "AGENT_REVIEW"},
      {302, "HUMAN_REVIEW"}, {305, "CHANGES_REQUESTED"}, {307, "SUBMITTED"},
      {307, "HUMAN_REVIEW"}, {309, "APPROVED"},          {309, "RELEASING"},
      {310, "APPROVED"},     {311, "RELEASING"},         {312, "RELEASED"}};
  std::mt19937 rng(20261202);
  std::shuffle(changes.begin(), changes.end(), rng);
  unsigned n = 100;
  for (const auto& [hours, to] : changes) {
    d.exec(fmt::format(
        "INSERT INTO audit_events (id, occurred_at, actor, event_type, request_id, project_id, "
        "payload) VALUES ('{}', '{}', 'system', 'request.changed', '{}', '{}', "
        "'{{\"to\": \"{}\"}}')",
        id_of(7, ++n).str(), at(hours), q9.str(), f.p1.str(), to));
    CHECK_MESSAGE(test::facts_disagreeing_with_trail(d) == 0, "after the change at ", hours);
  }
  CHECK(d.count(fmt::format("SELECT count(*) FROM request_stays WHERE request_id = '{}'",
                            q9.str())) == 12);
  CHECK(d.count(fmt::format("SELECT count(*) FROM request_stays WHERE request_id = '{}' "
                            "AND left_us IS NULL AND state = 'RELEASED'",
                            q9.str())) == 1);

  // Every column follows the rows it comes from: a submission, a first
  // human review earlier than the one there, objects added and approved,
  // the request's own changes.
  d.exec(fmt::format(
      "INSERT INTO audit_events (id, occurred_at, actor, event_type, request_id, project_id, "
      "payload) VALUES ('{}', '{}', 'system', 'request.submitted', '{}', '{}', '{{}}')",
      id_of(7, ++n).str(), at(300.5), q9.str(), f.p1.str()));
  d.exec(fmt::format(
      "INSERT INTO reviews (id, request_id, round, reviewer_type, reviewer_id, decision, "
      "created_at) VALUES ('{}', '{}', 1, 'human', '{}', 'approved', '{}')",
      id_of(6, 99).str(), f.q[5].str(), f.carl.str(), at(52)));
  // A review of round 2 before its round's submission is recorded, the
  // agent's approval of that round after it, and a submission earlier than
  // every other (which renumbers the rounds' starts).
  const auto review_q9 = [&](unsigned k, const char* type, const char* who, double hours) {
    d.exec(fmt::format(
        "INSERT INTO reviews (id, request_id, round, reviewer_type, reviewer_id, decision, "
        "created_at) VALUES ('{}', '{}', 2, '{}', {}, 'approved', '{}')",
        id_of(6, k).str(), q9.str(), type, who, at(hours)));
  };
  const auto submission_q9 = [&](const char* type, double hours) {
    d.exec(fmt::format(
        "INSERT INTO audit_events (id, occurred_at, actor, event_type, request_id, project_id, "
        "payload) VALUES ('{}', '{}', 'system', '{}', '{}', '{}', '{{}}')",
        id_of(7, ++n).str(), at(hours), type, q9.str(), f.p1.str()));
    CHECK(test::facts_disagreeing_with_trail(d) == 0);
  };
  review_q9(100, "human", fmt::format("'{}'", f.carl.str()).c_str(), 308);
  CHECK(d.count(fmt::format("SELECT count(*) FROM review_facts WHERE request_id = '{}' AND "
                            "round_started_us IS NULL",
                            q9.str())) == 1);
  submission_q9("request.resubmitted", 306);
  review_q9(101, "agent", "NULL", 309);
  CHECK(test::facts_disagreeing_with_trail(d) == 0);
  submission_q9("request.submitted", 299);
  CHECK(d.count(fmt::format("SELECT count(*) FROM review_facts WHERE request_id = '{}' AND "
                            "agent_approved AND round_started_us IS NOT NULL",
                            q9.str())) == 1);
  d.exec(fmt::format(
      "INSERT INTO output_objects (id, request_id, logical_object_id, version, filename, "
      "output_type, storage_key, state, uploaded_by) VALUES ('{}', '{}', '{}', 1, 'n.csv', "
      "'tabular', 'kn', 'APPROVED', '{}')",
      id_of(5, 99).str(), q9.str(), id_of(5, 99).str(), f.rosa.str()));
  d.exec(fmt::format("UPDATE output_objects SET state = 'APPROVED' WHERE request_id = '{}'",
                     f.q[5].str()));
  d.exec(fmt::format("UPDATE output_objects SET state = 'REJECTED' WHERE id = '{}'",
                     id_of(5, 99).str()));
  d.exec(
      fmt::format("UPDATE airlock_requests SET status = 'CHANGES_REQUESTED', review_round = 3, "
                  "submitted_at = '{}', updated_at = '{}' WHERE id = '{}'",
                  at(320), at(321), q9.str()));
  CHECK(test::facts_disagreeing_with_trail(d) == 0);
  CHECK(d.count(fmt::format("SELECT objects FROM request_facts WHERE request_id = '{}'",
                            q9.str())) == 1);
  CHECK(d.count(fmt::format("SELECT objects_approved FROM request_facts WHERE request_id = '{}'",
                            f.q[5].str())) == 1);

  // The check itself sees a difference: a stay and a fact the trail does
  // not give (written past the triggers by the schema owner).
  d.exec(
      fmt::format("UPDATE request_stays SET left_us = left_us + 1 WHERE request_id = '{}' "
                  "AND state = 'DRAFT'",
                  f.q[1].str()));
  CHECK(test::facts_disagreeing_with_trail(d) == 2);
  d.exec(fmt::format("UPDATE request_facts SET objects = 7 WHERE request_id = '{}'", f.q[1].str()));
  CHECK(test::facts_disagreeing_with_trail(d) == 4);
}

TEST_CASE("migration 0010 derives the facts of the rows already there from the trail") {
  fresh_database d(false);
  const auto run = [&](int id) {
    auto l = d.db().impl().acquire();
    detail::transaction tx(*l, detail::transaction::mode::write);
    l->exec_script(migrator::sql_for(id, d.db().kind()));
    tx.commit();
  };
  for (const auto& m : migrator::known())
    if (m.id < 10) run(m.id);
  const fixture f(d);
  run(10);
  CHECK(d.count("SELECT count(*) FROM request_facts") == 8);
  CHECK(d.count("SELECT count(*) FROM request_stays") == 29);
  CHECK(test::facts_disagreeing_with_trail(d) == 0);
  // The dashboard reads the same from them as from facts the triggers kept.
  fresh_database kept;
  const fixture fk(kept);
  dashboard backfilled(d.db()), triggered(kept.db());
  const auto m = backfilled.metrics(f.as_admin(), whole_window());
  CHECK(m.hours_to_decision.median.has_value());
  CHECK(m == triggered.metrics(fk.as_admin(), whole_window()));
  CHECK(backfilled.projects(f.as_admin(), whole_window()) ==
        triggered.projects(fk.as_admin(), whole_window()));
  CHECK(backfilled.checkers(f.as_admin(), whole_window()) ==
        triggered.checkers(fk.as_admin(), whole_window()));
  CHECK(d.count("SELECT count(*) FROM review_facts") == 10);
}

// ------------------------------------------------------------------- parity

TEST_CASE("engine parity: every read model gives identical results on SQLite and PostgreSQL" *
          doctest::skip(!test::on_postgres())) {
  fresh_database pg;
  fresh_database lite(true, 1, false, engine::sqlite);
  const fixture fp(pg), fl(lite);
  for (std::int64_t stuck : {0, 72}) {
    dashboard a(pg.db(), std::chrono::hours(stuck)), b(lite.db(), std::chrono::hours(stuck));
    const auto admin = fp.as_admin(), sam = fp.as(fp.sam);
    for (const auto& who : {admin, sam}) {
      for (auto sort : {overview_sort::updated_at, overview_sort::submitted_at,
                        overview_sort::created_at, overview_sort::status})
        for (bool desc : {false, true}) {
          overview_query q;
          q.as_of = ts(200);
          q.sort = sort;
          q.descending = desc;
          q.limit = 3;
          q.offset = 1;
          CHECK(a.request_overview(who, q) == b.request_overview(who, q));
        }
      std::vector<window_query> windows{whole_window(), {}, {}};
      windows[1].since = ts(15);
      windows[1].as_of = ts(200);
      windows[2].project_id = fp.p1;
      windows[2].until = ts(40);
      windows[2].as_of = ts(200);
      for (const auto& w : windows) {
        const auto ma = a.metrics(who, w), mb = b.metrics(who, w);
        CHECK(ma == mb);
        CHECK(a.checkers(who, w) == b.checkers(who, w));
        CHECK(a.projects(who, w) == b.projects(who, w));
      }
    }
  }
}

TEST_CASE("percentile definition: medians and p90 equal PostgreSQL's percentile_cont" *
          doctest::skip(!test::on_postgres())) {
  // Independent of the window-function SQL: for sample sizes 1..12 and 37
  // (every interpolation fraction), random decision times, the metrics'
  // median and p90 against percentile_cont over the same rows.
  std::mt19937_64 rng(20261124);
  for (int n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 37}) {
    CAPTURE(n);
    fresh_database db;
    const uuid admin = id_of(1, 1), project = id_of(2, 1);
    db.exec(fmt::format("INSERT INTO users (id, username) VALUES ('{}', 'admin')", admin.str()));
    db.exec(fmt::format("INSERT INTO projects (id, name) VALUES ('{}', 'p')", project.str()));
    for (int k = 0; k < n; ++k) {
      const double submitted = 1 + k;
      const double decided = submitted + std::uniform_real_distribution<double>(0, 500)(rng);
      const uuid r = id_of(3, static_cast<unsigned>(k + 1));
      db.exec(fmt::format(
          "INSERT INTO airlock_requests (id, project_id, direction, status, title, owner_id, "
          "submitted_at, closed_at, created_at, updated_at) VALUES ('{}', '{}', 'egress', "
          "'APPROVED', 't', '{}', '{}', '{}', '{}', '{}')",
          r.str(), project.str(), admin.str(), at(submitted), at(decided), at(0.5), at(decided)));
      db.exec(
          fmt::format("INSERT INTO audit_events (id, occurred_at, actor, event_type, "
                      "request_id) VALUES ('{}', '{}', 'x', 'request.submitted', '{}')",
                      id_of(7, static_cast<unsigned>(k + 1)).str(), at(submitted), r.str()));
    }
    dashboard board(db.db());
    const auto m = board.metrics({admin, true}, whole_window());
    for (auto [p, got] :
         {std::pair{0.5, m.hours_to_decision.median}, std::pair{0.9, m.hours_to_decision.p90}}) {
      const double expected = std::stod(db.text(fmt::format(
          "SELECT CAST(percentile_cont({}) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at "
          "- submitted_at) / 3600) AS TEXT) FROM airlock_requests",
          p)));
      REQUIRE(got.has_value());
      CHECK(*got == doctest::Approx(expected).epsilon(1e-12));
    }
  }
}

}  // namespace
}  // namespace trevor

namespace trevor {
namespace {

TEST_CASE("filtered audit searches use an index on PostgreSQL: EXPLAIN shows no sequential scan" *
          doctest::skip(!test::on_postgres())) {
  fresh_database db;
  // 40k events over 20 projects, 400 requests, 50 actors and 8 event types,
  // then ANALYZE: the planner sees a realistic spread, not an empty table.
  db.exec("INSERT INTO users (id, username) VALUES ('00000001-0000-7000-8000-000000000001', 'u')");
  db.exec(
      "INSERT INTO projects (id, name) SELECT md5('p' || i)::uuid, 'p' || i "
      "FROM generate_series(1, 20) i");
  db.exec(
      "INSERT INTO airlock_requests (id, project_id, direction, title, owner_id) "
      "SELECT md5('r' || i)::uuid, md5('p' || (1 + i % 20))::uuid, 'egress', 't', "
      "'00000001-0000-7000-8000-000000000001' FROM generate_series(1, 400) i");
  db.exec(
      "INSERT INTO audit_events (id, occurred_at, actor, event_type, request_id, project_id) "
      "SELECT md5('e' || i)::uuid, now() - i * interval '1 minute', 'actor' || (i % 50), "
      "(ARRAY['request.created', 'request.submitted', 'review.created', 'object.uploaded', "
      "'object.downloaded', 'request.approved', 'membership.created', 'user.updated'])"
      "[1 + i % 8], md5('r' || (1 + i % 400))::uuid, md5('p' || (1 + i % 20))::uuid "
      "FROM generate_series(1, 40000) i");
  db.exec("ANALYZE");

  std::vector<std::pair<const char*, audit_query>> searches;
  const auto add = [&](const char* what, auto&& set) {
    audit_query q;
    q.limit = 100;
    set(q);
    searches.emplace_back(what, q);
  };
  const uuid project = *uuid::parse(db.text("SELECT CAST(md5('p3') AS uuid)"));
  const uuid request = *uuid::parse(db.text("SELECT CAST(md5('r7') AS uuid)"));
  const auto day_ago = timestamp::parse_or_throw(
      db.text("SELECT to_char((now() - interval '1 day') AT TIME ZONE 'UTC', "
              "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"),
      "t");
  add("project", [&](audit_query& q) { q.project_id = project; });
  add("request", [&](audit_query& q) { q.request_id = request; });
  add("actor", [&](audit_query& q) { q.actor = "actor7"; });
  add("rare type prefix", [&](audit_query& q) { q.event_type_prefix = "membership."; });
  add("common type prefix", [&](audit_query& q) { q.event_type_prefix = "request."; });
  add("time range", [&](audit_query& q) {
    q.since = timestamp(day_ago.micros() - 3600LL * 1000000);
    q.until = day_ago;
  });
  add("project and type, oldest first", [&](audit_query& q) {
    q.project_id = project;
    q.event_type_prefix = "review.";
    q.order = audit_order::oldest_first;
  });
  // A second page: the cursor of the first.
  audit_query first;
  first.project_id = project;
  first.limit = 100;
  const auto page = audit_log(db.db()).query(first);
  REQUIRE_FALSE(page.next_cursor.empty());
  add("project, second page", [&](audit_query& q) {
    q.project_id = project;
    q.cursor = page.next_cursor;
  });

  auto lease = db.db().impl().acquire();
  for (const auto& [what, q] : searches) {
    CAPTURE(what);
    const auto select = detail::build_audit_select(q, engine::postgresql);
    soci::details::prepare_temp_type prep = (lease->sql.prepare << ("EXPLAIN " + select.sql));
    select.bind(prep);
    std::string plan;
    soci::rowset<std::string> lines(prep);
    for (const auto& line : lines) plan += line + "\n";
    CAPTURE(plan);
    CHECK(plan.find("Seq Scan on audit_events") == std::string::npos);
    CHECK(plan.find("Index") != std::string::npos);
  }
}

}  // namespace
}  // namespace trevor
