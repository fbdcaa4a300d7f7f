// The workflow service on the engine under test: lifecycle, reviews,
// objects, metadata, ingress slots, bad input and nothing half-written.
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <thread>

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>

#include <cstdio>
#include <cstring>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "db/connection.hpp"
#include "world.hpp"

namespace trevor {
namespace {

using test::decide;
using test::thrown_by;
using test::world;

/// Row counts of every table the workflow writes, and the blob files.
struct snapshot {
  std::map<std::string, long long> rows;
  std::size_t files = 0;
  explicit snapshot(world& w) {
    for (const char* t :
         {"airlock_requests", "output_objects", "output_object_metadata", "reviews",
          "notifications", "audit_events", "project_memberships", "users", "projects"})
      rows[t] = w.rows(t);
    files = w.blob_files();
  }
  bool operator==(const snapshot&) const = default;
};

std::vector<std::string> types_of(const std::vector<audit_event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.event_type);
  return out;
}

// ------------------------------------------------------------------ create

TEST_CASE("create: a researcher creates an egress DRAFT, audited") {
  world w;
  const auto r = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "Tables", "desc"});
  CHECK(r.status == request_status::draft);
  CHECK(r.owner_id == w.r1.user_id);
  CHECK(r.review_round == 1);
  CHECK_FALSE(r.submitted_at);
  const auto trail = w.trail(r.id);
  REQUIRE(trail.size() == 1);
  CHECK(trail[0].event_type == "request.created");
  CHECK(trail[0].actor == w.r1.user_id.str());
  CHECK(trail[0].project_id == w.proj.id);
  CHECK(test::payload_of(trail[0]).at("to") == "DRAFT");
  CHECK(test::payload_of(trail[0]).at("from").is_null());
}

TEST_CASE("create: who may create depends on the direction") {
  world w;
  const new_request egress{w.proj.id, direction::egress, "Out", ""};
  const new_request ingress{w.proj.id, direction::ingress, "In", ""};
  CHECK(thrown_by([&] { w.flow.requests.create(w.c1, egress); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.requests.create(w.admin, egress); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.requests.create(w.outsider, egress); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.requests.create(w.r1, ingress); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.requests.create(w.c1, ingress); }).code() == errc::forbidden);
  CHECK(w.flow.requests.create(w.s1, ingress).direction == direction::ingress);
  CHECK(w.flow.requests.create(w.admin, ingress).owner_id == w.admin.user_id);
}

TEST_CASE("create: bad input is refused with the field named and nothing written") {
  world w;
  const snapshot before(w);
  auto check = [&](new_request in, errc code, std::string_view field) {
    const auto e = thrown_by([&] { w.flow.requests.create(w.r1, in); });
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(field) != std::string::npos);
  };
  check({w.proj.id, direction::egress, "", ""}, errc::invalid_argument, "title");
  check({w.proj.id, direction::egress, "   ", ""}, errc::invalid_argument, "title");
  check({w.proj.id, direction::egress, std::string(301, 't'), ""}, errc::invalid_argument, "title");
  check({w.proj.id, direction::egress, "ok", std::string(20'001, 'd')}, errc::invalid_argument,
        "description");
  check({uuid::v7(), direction::egress, "ok", ""}, errc::not_found, "project_id");
  check({uuid(), direction::egress, "ok", ""}, errc::invalid_argument, "project_id");
  check({w.proj.id, direction::egress, "bad \xC3\x28 utf-8", ""}, errc::invalid_argument,
        "title: is not valid UTF-8");
  check({w.proj.id, direction::egress, "surrogate \xED\xA0\x80", ""}, errc::invalid_argument,
        "UTF-8");
  CHECK(snapshot(w) == before);
}

TEST_CASE("text limits count characters, not bytes, at the limit and one past it") {
  world w;
  // "Ω" is 2 bytes, "统" 3, "😀" 4: limits are stated in characters everywhere.
  auto repeat = [](std::string_view unit, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += unit;
    return s;
  };
  for (const std::string_view unit : {"\u03A9", "\u7EDF", "\U0001F600"}) {
    CAPTURE(unit);
    const auto at_limit =
        w.flow.requests.create(w.r1, {w.proj.id, direction::egress, repeat(unit, max_title_length),
                                      repeat(unit, max_description_length)});
    CHECK(at_limit.title.size() == max_title_length * unit.size());
    CHECK(thrown_by([&] {
            w.flow.requests.create(
                w.r1, {w.proj.id, direction::egress, repeat(unit, max_title_length + 1), ""});
          }).code() == errc::invalid_argument);
    CHECK(thrown_by([&] {
            w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "t",
                                          repeat(unit, max_description_length + 1)});
          }).code() == errc::invalid_argument);
    // File names and metadata text.
    const auto name = repeat(unit, max_filename_length - 4) + ".csv";
    const auto o = w.upload(w.r1, at_limit.id, name);
    CHECK(o.filename == name);
    CHECK(thrown_by([&] {
            w.upload(w.r1, at_limit.id, repeat(unit, max_filename_length - 3) + ".csv");
          }).code() == errc::invalid_argument);
    metadata_patch long_text;
    long_text.researcher_justification = repeat(unit, max_metadata_text);
    CHECK(w.flow.objects.edit_metadata(w.r1, at_limit.id, o.id, long_text)
              .researcher_justification.size() == max_metadata_text * unit.size());
    long_text.researcher_justification = repeat(unit, max_metadata_text + 1);
    const auto e =
        thrown_by([&] { w.flow.objects.edit_metadata(w.r1, at_limit.id, o.id, long_text); });
    CHECK(e.code() == errc::invalid_argument);
    CHECK(std::string(e.what()) ==
          fmt::format("researcher_justification: longer than {} characters", max_metadata_text));
  }
}

TEST_CASE("create: an archived project refuses new requests and keeps its history") {
  world w;
  const auto old = w.draft();
  const project_spec other{uuid::v7(), "proj-beta", "Beta"};
  const auto result = w.dir.reconcile_projects(w.admin, std::span(&other, 1));
  CHECK(result.created == 1);
  CHECK(result.archived == 1);
  CHECK(w.dir.get_project(w.proj.id).status == project_status::archived);
  const auto e = thrown_by([&] {
    w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "More", ""});
  });
  CHECK(e.code() == errc::conflict);
  CHECK(std::string(e.what()).find("archived") != std::string::npos);
  CHECK(w.flow.requests.get(w.r1, old.id).id == old.id);
}

// ------------------------------------------------------------------ submit

TEST_CASE("submit: DRAFT to HUMAN_REVIEW with the agent off; checkers notified once each") {
  world w;
  const auto d = w.draft(2);
  const auto r = w.flow.requests.submit(w.r1, d.id);
  CHECK(r.status == request_status::human_review);
  CHECK(r.submitted_at.has_value());
  CHECK(r.review_round == 1);
  const auto trail = w.trail(d.id);
  CHECK(trail.back().event_type == "request.submitted");
  CHECK(test::payload_of(trail.back()) ==
        boost::json::object{{"from", "DRAFT"}, {"to", "HUMAN_REVIEW"}, {"round", 1}});
  CHECK(w.box.unread_count(w.c1) == 1);
  CHECK(w.box.unread_count(w.c2) == 1);
  CHECK(w.box.unread_count(w.s1) == 1);
  CHECK(w.box.unread_count(w.r1) == 0);
  const auto page = w.box.list(w.c1);
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].event_type == "request.submitted");
  CHECK(page.items[0].request_id == d.id);
  CHECK(page.items[0].title.find("Regression tables") != std::string::npos);
}

TEST_CASE("submit: refusals change nothing") {
  world w;
  const auto empty = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "Empty", ""});
  const auto full = w.draft();
  const snapshot before(w);
  CHECK(thrown_by([&] { w.flow.requests.submit(w.r1, empty.id); }).code() ==
        errc::invalid_argument);
  CHECK(thrown_by([&] { w.flow.requests.submit(w.r2, full.id); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.requests.submit(w.c1, full.id); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.requests.submit(w.outsider, full.id); }).code() == errc::not_found);
  CHECK(thrown_by([&] { w.flow.requests.submit(w.r1, uuid::v7()); }).code() == errc::not_found);
  CHECK(thrown_by([&] { w.flow.requests.resubmit(w.r1, full.id); }).code() ==
        errc::invalid_transition);
  CHECK(snapshot(w) == before);
  CHECK(w.flow.requests.get(w.r1, full.id).status == request_status::draft);
  // tre_admin may submit on the owner's behalf; a second submit is refused.
  CHECK(w.flow.requests.submit(w.admin, full.id).status == request_status::human_review);
  const auto e = thrown_by([&] { w.flow.requests.submit(w.r1, full.id); });
  CHECK(e.code() == errc::invalid_transition);
  CHECK(std::string(e.what()) == "request is HUMAN_REVIEW; submit is allowed only in DRAFT");
}

TEST_CASE("withdraw: owner or admin, from DRAFT or CHANGES_REQUESTED only") {
  world w;
  const auto a = w.draft();
  CHECK(thrown_by([&] { w.flow.requests.withdraw(w.r2, a.id); }).code() == errc::forbidden);
  const auto out = w.flow.requests.withdraw(w.r1, a.id);
  CHECK(out.status == request_status::withdrawn);
  CHECK(out.closed_at.has_value());
  CHECK(test::payload_of(w.trail(a.id).back()) ==
        boost::json::object{{"from", "DRAFT"}, {"to", "WITHDRAWN"}, {"round", 1}});
  CHECK(thrown_by([&] { w.flow.requests.withdraw(w.r1, a.id); }).code() ==
        errc::invalid_transition);
  const auto b = w.submitted();
  CHECK(thrown_by([&] { w.flow.requests.withdraw(w.admin, b.id); }).code() ==
        errc::invalid_transition);
}

// ------------------------------------------------------------------ reviews

TEST_CASE("reviews: two approvals close the round APPROVED; the owner is notified") {
  world w;
  const auto r = w.submitted(2);
  const auto first = w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
  CHECK(first.round == 1);
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::human_review);
  w.flow.reviews.record(w.c2, r.id, decide(review_decision::approved));
  const auto after = w.flow.requests.get(w.r1, r.id);
  CHECK(after.status == request_status::approved);
  CHECK(after.closed_at.has_value());
  for (const auto& o : w.flow.objects.list(w.r1, r.id)) CHECK(o.state == object_state::approved);
  const auto page = w.box.list(w.r1);
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].event_type == "request.approved");
  CHECK(w.flow.reviews.list(w.c1, r.id).size() == 2);
  CHECK(w.flow.reviews.get(w.r1, r.id, first.id).reviewer_id == w.c1.user_id);
}

TEST_CASE("reviews: a revision cycle ends APPROVED (round 2 counts only its own reviews)") {
  world w;
  const auto r = w.submitted(2);
  const auto objects = w.flow.objects.list(w.r1, r.id);
  auto ask = decide(review_decision::changes_requested);
  ask.object_decisions = {{objects[0].id, review_decision::changes_requested, "round to 10"}};
  w.flow.reviews.record(w.c1, r.id, ask);
  w.flow.reviews.record(w.c2, r.id, decide(review_decision::approved));
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::changes_requested);
  CHECK(w.flow.objects.get(w.r1, r.id, objects[0].id).state == object_state::changes_requested);
  // Undecided, and the outcome is not APPROVED: it stays PENDING (rule 7).
  CHECK(w.flow.objects.get(w.r1, r.id, objects[1].id).state == object_state::pending);
  CHECK(thrown_by([&] { w.flow.requests.resubmit(w.r1, r.id); }).code() == errc::invalid_argument);

  new_object v2;
  v2.filename = "table1-rounded.csv";
  v2.output_type = output_type::tabular;
  const auto replacement =
      w.flow.objects.replace(w.r1, r.id, objects[0].id, v2, test::bytes_of("n,mean\n10"));
  CHECK(replacement.version == 2);
  CHECK(replacement.replaces_id == objects[0].id);
  const auto again = w.flow.requests.resubmit(w.r1, r.id);
  CHECK(again.review_round == 2);
  CHECK(again.status == request_status::human_review);
  w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::human_review);
  w.flow.reviews.record(w.c2, r.id, decide(review_decision::approved));
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::approved);
  CHECK(w.flow.objects.get(w.r1, r.id, replacement.id).state == object_state::approved);
  CHECK(w.flow.objects.get(w.r1, r.id, objects[0].id).state == object_state::superseded);
}

TEST_CASE("reviews: eligibility is checked against the database's memberships") {
  world w;
  const auto r = w.submitted();
  const snapshot before(w);
  CHECK(thrown_by([&] {
          w.flow.reviews.record(w.admin, r.id, decide(review_decision::approved));
        }).code() == errc::forbidden);
  CHECK(thrown_by([&] {
          w.flow.reviews.record(w.r2, r.id, decide(review_decision::approved));
        }).code() == errc::forbidden);
  CHECK(thrown_by([&] {
          w.flow.reviews.record(w.outsider, r.id, decide(review_decision::approved));
        }).code() == errc::not_found);
  CHECK(snapshot(w) == before);
  w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
  CHECK(thrown_by([&] {
          w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
        }).code() == errc::conflict);
}

TEST_CASE("reviews: a senior checker who owns an ingress request may not review it") {
  world w;
  auto r = w.flow.requests.create(w.s1, {w.proj.id, direction::ingress, "Reference data", ""});
  w.upload(w.s1, r.id, "codes.csv");
  w.flow.requests.submit(w.s1, r.id);
  CHECK(thrown_by([&] {
          w.flow.reviews.record(w.s1, r.id, decide(review_decision::approved));
        }).code() == errc::forbidden);
}

TEST_CASE("reviews: decisions on superseded or foreign objects are rejected") {
  world w;
  const auto r = w.submitted();
  const auto other = w.draft();
  const auto foreign = w.flow.objects.list(w.r1, other.id)[0];
  auto in = decide(review_decision::changes_requested);
  in.object_decisions = {{foreign.id, review_decision::approved, ""}};
  const auto e = thrown_by([&] { w.flow.reviews.record(w.c1, r.id, in); });
  CHECK(e.code() == errc::invalid_argument);
  CHECK(std::string(e.what()).find("object_decisions[0].object_id") != std::string::npos);
}

TEST_CASE("reviews: feedback is appended to the object's checker_feedback") {
  world w;
  const auto r = w.submitted();
  const auto o = w.flow.objects.list(w.r1, r.id)[0];
  auto in = decide(review_decision::changes_requested);
  in.object_decisions = {{o.id, review_decision::changes_requested, "suppress cells < 10"}};
  const auto review = w.flow.reviews.record(w.c1, r.id, in);
  const auto m = w.flow.objects.metadata(w.r1, r.id, o.id);
  CHECK(m.checker_feedback_json.find("suppress cells < 10") != std::string::npos);
  CHECK(m.checker_feedback_json.find(w.c1.user_id.str()) != std::string::npos);
  CHECK(m.checker_feedback_json.find(review.created_at.str()) != std::string::npos);
  CHECK(review.findings_json.find(o.id.str()) != std::string::npos);
}

TEST_CASE("reviews: an approved review may reject some objects; they end REJECTED") {
  world w;
  const auto r = w.submitted(2);
  const auto objects = w.flow.objects.list(w.r1, r.id);
  auto in = decide(review_decision::approved);
  in.object_decisions = {{objects[1].id, review_decision::rejected, "identifiable"}};
  w.flow.reviews.record(w.c1, r.id, in);
  w.flow.reviews.record(w.c2, r.id, decide(review_decision::approved));
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::approved);
  CHECK(w.flow.objects.get(w.r1, r.id, objects[0].id).state == object_state::approved);
  CHECK(w.flow.objects.get(w.r1, r.id, objects[1].id).state == object_state::rejected);
}

// ------------------------------------------------------------------ the agent

TEST_CASE("agent: SUBMITTED, then the agent's review moves the request to HUMAN_REVIEW") {
  world w({.agent_review = true});
  const auto r = w.submitted();
  CHECK(r.status == request_status::submitted);
  CHECK(thrown_by([&] {
          w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
        }).code() == errc::invalid_transition);
  CHECK(w.flow.reviews.start_agent_review(w.agent, r.id).status == request_status::agent_review);
  CHECK(thrown_by([&] { w.flow.reviews.start_agent_review(w.agent, r.id); }).code() ==
        errc::invalid_transition);
  const auto review =
      w.flow.reviews.record_agent_review(w.agent, r.id, {review_decision::approved, "clean", "[]"});
  CHECK(review.reviewer_type == reviewer_type::agent);
  CHECK_FALSE(review.reviewer_id);
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::human_review);
  CHECK(thrown_by([&] {
          w.flow.reviews.record_agent_review(w.agent, r.id, {review_decision::approved, "", "[]"});
        }).code() == errc::invalid_transition);
  // The agent counts as one reviewer: one human approval closes the round.
  auto accept = decide(review_decision::approved);
  accept.accepted_agent_findings = true;
  const auto human = w.flow.reviews.record(w.c1, r.id, accept);
  CHECK(human.accepted_agent_findings);
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::approved);
  const auto types = types_of(w.trail(r.id));
  const std::vector<std::string> tail(types.end() - 7, types.end());
  CHECK(tail == std::vector<std::string>{"request.submitted", "request.agent_review_started",
                                         "review.created", "request.human_review_started",
                                         "review.created", "request.approved",
                                         "object.state_changed"});
}

TEST_CASE("agent: a review from SUBMITTED passes through AGENT_REVIEW; checkers notified") {
  world w({.agent_review = true});
  const auto r = w.submitted();
  w.box.mark_all_read(w.c1);
  w.flow.reviews.record_agent_review(
      w.agent, r.id, {review_decision::escalated, "small cells", R"({"rules":[]})"});
  const auto types = types_of(w.trail(r.id));
  const std::vector<std::string> tail(types.end() - 3, types.end());
  CHECK(tail == std::vector<std::string>{"request.agent_review_started", "review.created",
                                         "request.human_review_started"});
  const auto page = w.box.list(w.c1, 20, std::nullopt, /*unread_only=*/true);
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].event_type == "agent_review.ready");
  // Escalated: only the senior checker may review, and its human decision wins.
  CHECK(thrown_by([&] {
          w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
        }).code() == errc::forbidden);
  w.flow.reviews.record(w.s1, r.id, decide(review_decision::approved));
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::approved);
}

TEST_CASE("agent: its request for changes or rejection is advice; the humans approve: APPROVED") {
  for (const auto advice : {review_decision::changes_requested, review_decision::rejected}) {
    CAPTURE(to_string(advice));
    // Three reviewers per round: the agent and two humans.
    world w({.required_reviews = 3, .agent_review = true});
    const auto r = w.submitted(2);
    const auto agent = w.agent_review(r.id, advice, "small cells");
    CHECK(agent.decision == advice);
    CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::human_review);
    w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
    CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::human_review);
    w.flow.reviews.record(w.c2, r.id, decide(review_decision::approved));
    CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::approved);
    for (const auto& o : w.flow.objects.list(w.r1, r.id)) CHECK(o.state == object_state::approved);
    // The closing event names all three reviews, the agent's among them.
    const auto trail = w.trail(r.id);
    const auto closed = std::find_if(trail.begin(), trail.end(), [](const audit_event& e) {
      return e.event_type == "request.approved";
    });
    REQUIRE(closed != trail.end());
    CHECK(test::payload_of(*closed).at("reviews").as_array().size() == 3);
  }
}

TEST_CASE("agent: after an escalation only a senior checker reviews; their approval: APPROVED") {
  world w({.agent_review = true});
  const auto r = w.submitted();
  w.agent_review(r.id, review_decision::escalated, "needs a senior look");
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::human_review);
  const snapshot before(w);
  for (const auto& checker : {w.c1, w.c2}) {
    const auto e =
        thrown_by([&] { w.flow.reviews.record(checker, r.id, decide(review_decision::approved)); });
    CHECK(e.code() == errc::forbidden);
    CHECK_MESSAGE(std::string(e.what()).find("senior") != std::string::npos, e.what());
  }
  CHECK(snapshot(w) == before);
  w.flow.reviews.record(w.s1, r.id, decide(review_decision::approved));
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::approved);
  for (const auto& o : w.flow.objects.list(w.r1, r.id)) CHECK(o.state == object_state::approved);
}

TEST_CASE("agent: bad findings are refused before anything is written") {
  world w({.agent_review = true});
  const auto r = w.submitted();
  const snapshot before(w);
  CHECK(
      thrown_by([&] {
        w.flow.reviews.record_agent_review(w.agent, r.id, {review_decision::approved, "", "{oops"});
      }).code() == errc::invalid_argument);
  CHECK(thrown_by([&] { w.flow.reviews.record_agent_review(w.agent, uuid::v7(), {}); }).code() ==
        errc::not_found);
  CHECK(snapshot(w) == before);
}

TEST_CASE("agent: its credential names it in the trail; a malformed name is refused") {
  world w({.agent_review = true});
  const auto r = w.submitted();
  const agent_credential external("svc-sdc-checker");
  w.flow.reviews.start_agent_review(external, r.id);
  w.flow.reviews.record_agent_review(external, r.id, {review_decision::approved, "", "[]"});
  const auto trail = w.trail(r.id);
  const std::vector<audit_event> tail(trail.end() - 3, trail.end());
  for (const auto& e : tail) CHECK(e.actor == "agent:svc-sdc-checker");
  CHECK(w.agent.audit_actor() == agent_actor);
  for (const char* bad : {"", "two words", "tab\there", "\x7f"})
    CHECK(thrown_by([&] { agent_credential{bad}; }).code() == errc::invalid_argument);
  CHECK(thrown_by([&] { agent_credential{std::string(129, 'a')}; }).code() ==
        errc::invalid_argument);
  CHECK_NOTHROW(agent_credential{std::string(128, 'a')});
}

TEST_CASE("agent: reads every project's requests, objects, metadata and versions; downloads") {
  world w({.agent_review = true});
  // A request of a project the agent has no tie to, next to one of proj.
  const project_spec spec{uuid::v7(), "proj-beta", "Project Beta"};
  const std::vector<project_spec> both{{w.proj.id, w.proj.name, w.proj.display_name}, spec};
  w.dir.reconcile_projects(w.admin, both);
  const auto beta_researcher = w.actor_for("bea");
  w.dir.add_membership(w.admin, beta_researcher.user_id, spec.id, membership_role::researcher);
  auto beta = w.flow.requests.create(beta_researcher, {spec.id, direction::egress, "Beta", ""});
  w.upload(beta_researcher, beta.id, "beta.csv", "x,y\n1,2\n");
  w.flow.requests.submit(beta_researcher, beta.id);
  const auto alpha = w.submitted();
  const auto draft = w.draft();

  const auto& bot = w.agent_reader;
  const auto waiting = w.flow.requests.list(bot, {.status = request_status::submitted});
  std::vector<uuid> ids;
  for (const auto& r : waiting) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  std::vector<uuid> expected{alpha.id, beta.id};
  std::sort(expected.begin(), expected.end());
  CHECK(ids == expected);
  CHECK(w.flow.requests.list(bot).size() == 3);  // the draft too: every request is visible

  const auto detail = w.flow.requests.get_detail(bot, beta.id);
  REQUIRE(detail.objects.size() == 1);
  const auto object = detail.objects[0];
  CHECK(w.flow.objects.list(bot, beta.id).size() == 1);
  CHECK(w.flow.objects.get(bot, beta.id, object.id).filename == "beta.csv");
  CHECK(w.flow.objects.versions(bot, beta.id, object.id).size() == 1);
  CHECK(w.flow.objects.metadata(bot, beta.id, object.id).logical_object_id ==
        object.logical_object_id);
  std::string bytes;
  w.flow.objects.download(bot, beta.id, object.id, [&](std::string_view c) { bytes += c; });
  CHECK(bytes == "x,y\n1,2\n");
  const auto last = w.trail(beta.id).back();
  CHECK(last.event_type == "object.downloaded");
  CHECK(last.actor == "agent:trevor-agent");
  CHECK(test::payload_of(last).at("object_id").as_string() == object.id.str());
  CHECK(w.flow.requests.get(bot, draft.id).status == request_status::draft);
}

TEST_CASE("agent: may do nothing but read and record agent reviews; refusals write nothing") {
  world w({.agent_review = true});
  const auto draft = w.draft();
  const auto oid = w.flow.objects.list(w.r1, draft.id)[0].id;
  const auto submitted = w.submitted();
  w.flow.reviews.record_agent_review(w.agent, submitted.id, {review_decision::approved, "", "[]"});
  const auto& bot = w.agent_reader;
  const snapshot before(w);
  new_object in;
  in.filename = "x.csv";
  const std::vector<std::pair<const char*, std::function<void()>>> attempts{
      {"create",
       [&] {
         w.flow.requests.create(bot, {w.proj.id, direction::egress, "T", ""});
       }},
      {"upload", [&] { w.flow.objects.add(bot, draft.id, in, test::bytes_of("a")); }},
      {"replace", [&] { w.flow.objects.replace(bot, draft.id, oid, in, test::bytes_of("a")); }},
      {"metadata", [&] { w.flow.objects.edit_metadata(bot, draft.id, oid, {.title = "x"}); }},
      {"submit", [&] { w.flow.requests.submit(bot, draft.id); }},
      {"withdraw", [&] { w.flow.requests.withdraw(bot, draft.id); }},
      {"human review",
       [&] { w.flow.reviews.record(bot, submitted.id, decide(review_decision::approved)); }},
      {"notifications", [&] { w.box.list(bot, 10, std::nullopt, false); }},
      {"users", [&] { w.dir.list_users(bot, std::nullopt); }},
  };
  for (const auto& [what, attempt] : attempts) {
    CAPTURE(what);
    CHECK(thrown_by(attempt).code() == errc::forbidden);
  }
  CHECK(snapshot(w) == before);
}

// ------------------------------------------------------------------ objects

TEST_CASE("objects: uploads are streamed, hashed, stored under their key and audited") {
  world w;
  const auto r = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "T", ""});
  new_object in;
  in.filename = "summary stats.csv";
  in.output_type = output_type::tabular;
  in.statbarn = "descriptive";
  in.metadata.title = "Summary";
  in.metadata.tags_json = R"({"cohort":"A"})";
  const auto o = w.flow.objects.add(w.r1, r.id, in, test::bytes_of("x,y\n1,2\n", 3));
  CHECK(o.version == 1);
  CHECK(o.state == object_state::pending);
  CHECK(o.size_bytes == 8);
  CHECK(o.checksum_sha256.size() == 64);
  CHECK(o.storage_key.ends_with(o.id.str() + "-summary_stats.csv"));
  CHECK(w.blobs.verify(o.storage_key, o.checksum_sha256));
  const auto m = w.flow.objects.metadata(w.r1, r.id, o.id);
  CHECK(m.title == "Summary");
  CHECK(m.tags_json.find("cohort") != std::string::npos);
  CHECK(w.trail(r.id).back().event_type == "object.uploaded");
}

TEST_CASE("objects: bad uploads leave the database and the blob store as they were") {
  world w({.max_upload_bytes = 1000});
  const auto r = w.draft();
  const auto other_project = [&] {
    const project_spec specs[] = {{w.proj.id, w.proj.name, w.proj.display_name},
                                  {uuid::v7(), "proj-gamma", "Gamma"}};
    w.dir.reconcile_projects(w.admin, specs);
    const auto r2 = w.actor_for("rosa");
    w.dir.add_membership(w.admin, r2.user_id, specs[1].id, membership_role::researcher);
    const auto theirs = w.flow.requests.create(r2, {specs[1].id, direction::egress, "Theirs", ""});
    return std::make_pair(r2, theirs);
  }();
  const snapshot before(w);
  auto upload = [&](const actor& who, const uuid& request, std::string name, std::string body) {
    new_object in;
    in.filename = std::move(name);
    return thrown_by([&] { w.flow.objects.add(who, request, in, test::bytes_of(body, 100)); });
  };
  auto e = upload(w.r1, r.id, "../../etc/passwd", "x");
  CHECK(e.code() == errc::invalid_argument);
  CHECK(std::string(e.what()).starts_with("filename"));
  CHECK(upload(w.r1, r.id, "a\nb.csv", "x").code() == errc::invalid_argument);
  CHECK(upload(w.r1, r.id, "..", "x").code() == errc::invalid_argument);
  CHECK(upload(w.r1, r.id, "", "x").code() == errc::invalid_argument);
  e = upload(w.r1, r.id, "big.bin", std::string(1001, 'b'));
  CHECK(e.code() == errc::invalid_argument);
  CHECK(std::string(e.what()).find("upload limit") != std::string::npos);
  CHECK(upload(w.r1, other_project.second.id, "t.csv", "x").code() == errc::not_found);
  CHECK(upload(other_project.first, r.id, "t.csv", "x").code() == errc::not_found);
  CHECK(upload(w.c1, r.id, "t.csv", "x").code() == errc::forbidden);
  new_object bad_tags;
  bad_tags.filename = "t.csv";
  bad_tags.metadata.tags_json = "[1,2]";
  CHECK(thrown_by([&] { w.flow.objects.add(w.r1, r.id, bad_tags, test::bytes_of("x")); }).code() ==
        errc::invalid_argument);
  CHECK(snapshot(w) == before);
}

TEST_CASE("objects: a failing transaction discards the bytes it had stored") {
  world w;
  const auto r = w.draft();
  // Break the metadata insert with a trigger, so the upload's transaction fails after
  // the bytes were written.
  if (test::on_postgres()) {
    w.fdb.exec(
        "CREATE FUNCTION t_fail() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'boom'; END $$");
    w.fdb.exec(
        "CREATE TRIGGER t_fail BEFORE INSERT ON output_object_metadata "
        "FOR EACH ROW EXECUTE FUNCTION t_fail()");
  } else {
    w.fdb.exec(
        "CREATE TRIGGER t_fail BEFORE INSERT ON output_object_metadata "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END");
  }
  const snapshot before(w);
  CHECK_THROWS_AS(w.upload(w.r1, r.id, "late.csv"), error);
  CHECK(snapshot(w) == before);
}

TEST_CASE("objects: replacing supersedes version n and records n + 1, in DRAFT") {
  world w;
  const auto r = w.draft();
  const auto v1 = w.flow.objects.list(w.r1, r.id)[0];
  new_object in;
  in.filename = "table1-v2.csv";
  in.metadata.description = "fixed";
  const auto v2 = w.flow.objects.replace(w.r1, r.id, v1.id, in, test::bytes_of("new"));
  CHECK(v2.logical_object_id == v1.logical_object_id);
  CHECK(v2.state == object_state::pending);
  CHECK(w.flow.objects.get(w.r1, r.id, v1.id).state == object_state::superseded);
  CHECK(w.flow.objects.versions(w.r1, r.id, v2.id).size() == 2);
  CHECK(w.flow.objects.list(w.r1, r.id).size() == 1);
  CHECK(w.flow.objects.list(w.r1, r.id, true).size() == 2);
  CHECK(w.flow.objects.metadata(w.r1, r.id, v2.id).description == "fixed");
  const snapshot before(w);
  CHECK(thrown_by([&] {
          w.flow.objects.replace(w.r1, r.id, v1.id, in, test::bytes_of("again"));
        }).code() == errc::invalid_transition);
  CHECK(snapshot(w) == before);
}

TEST_CASE("objects: while changes are requested only objects sent back may be replaced") {
  world w;
  const auto r = w.submitted(2);
  const auto objects = w.flow.objects.list(w.r1, r.id);
  auto ask = decide(review_decision::changes_requested);
  ask.object_decisions = {{objects[0].id, review_decision::changes_requested, ""},
                          {objects[1].id, review_decision::approved, ""}};
  w.flow.reviews.record(w.c1, r.id, ask);
  w.flow.reviews.record(w.c2, r.id, decide(review_decision::approved));
  new_object in;
  in.filename = "v2.csv";
  CHECK(thrown_by([&] {
          w.flow.objects.replace(w.r1, r.id, objects[1].id, in, test::bytes_of("x"));
        }).code() == errc::invalid_transition);
  CHECK(thrown_by([&] { w.upload(w.r1, r.id, "new.csv"); }).code() == errc::invalid_transition);
  CHECK_NOTHROW(w.flow.objects.replace(w.r1, r.id, objects[0].id, in, test::bytes_of("x")));
}

TEST_CASE("metadata: partial update with lock_version; stale versions conflict") {
  world w;
  const auto r = w.draft();
  const auto o = w.flow.objects.list(w.r1, r.id)[0];
  const auto m1 = w.flow.objects.metadata(w.r1, r.id, o.id);
  metadata_patch p;
  p.title = "Table 1";
  p.suppression_notes = "cells < 10 suppressed";
  const auto m2 = w.flow.objects.edit_metadata(w.r1, r.id, o.id, p, m1.lock_version);
  CHECK(m2.lock_version == m1.lock_version + 1);
  CHECK(m2.title == "Table 1");
  CHECK(m2.description == m1.description);  // untouched field kept
  const auto ev = w.trail(r.id).back();
  CHECK(ev.event_type == "object.metadata_updated");
  CHECK(test::payload_of(ev).at("changes").at("title") ==
        boost::json::object{{"from", ""}, {"to", "Table 1"}});
  const snapshot before(w);
  const auto e =
      thrown_by([&] { w.flow.objects.edit_metadata(w.r1, r.id, o.id, p, m1.lock_version); });
  CHECK(e.code() == errc::conflict);
  CHECK(std::string(e.what()).starts_with("lock_version"));
  CHECK(thrown_by([&] {
          w.flow.objects.edit_metadata(w.r1, r.id, o.id, {}, m2.lock_version);
        }).code() == errc::invalid_argument);
  metadata_patch bad;
  bad.tags_json = "not json";
  CHECK(thrown_by([&] {
          w.flow.objects.edit_metadata(w.r1, r.id, o.id, bad, m2.lock_version);
        }).code() == errc::invalid_argument);
  CHECK(thrown_by([&] {
          w.flow.objects.edit_metadata(w.c1, r.id, o.id, p, m2.lock_version);
        }).code() == errc::forbidden);
  CHECK(snapshot(w) == before);
}

TEST_CASE("metadata: without lock_version the patch applies to the current row") {
  world w;
  const auto r = w.draft();
  const auto o = w.flow.objects.list(w.r1, r.id)[0];
  const auto m1 = w.flow.objects.metadata(w.r1, r.id, o.id);
  const auto events = w.trail(r.id).size();
  const auto m2 = w.flow.objects.edit_metadata(w.r1, r.id, o.id, {.title = "No version given"});
  CHECK(m2.lock_version == m1.lock_version + 1);
  CHECK(m2.title == "No version given");
  const auto trail = w.trail(r.id);
  REQUIRE(trail.size() == events + 1);
  CHECK(trail.back().event_type == "object.metadata_updated");
  // Again: still bumps the version, whatever the client last read.
  CHECK(w.flow.objects.edit_metadata(w.r1, r.id, o.id, {.title = "Again"}).lock_version ==
        m1.lock_version + 2);
  // Every other refusal stands without it: not the researcher, unknown
  // request, another request's object, bad text; nothing written.
  const snapshot before(w);
  const metadata_patch p{.title = "x"};
  CHECK(thrown_by([&] { w.flow.objects.edit_metadata(w.c1, r.id, o.id, p); }).code() ==
        errc::forbidden);
  CHECK(thrown_by([&] { w.flow.objects.edit_metadata(w.outsider, r.id, o.id, p); }).code() ==
        errc::not_found);
  CHECK(thrown_by([&] { w.flow.objects.edit_metadata(w.r1, uuid::v7(), o.id, p); }).code() ==
        errc::not_found);
  CHECK(thrown_by([&] { w.flow.objects.edit_metadata(w.r1, r.id, uuid::v7(), p); }).code() ==
        errc::not_found);
  CHECK(thrown_by([&] {
          w.flow.objects.edit_metadata(w.r1, r.id, o.id, {.tags_json = "[1]"});
        }).code() == errc::invalid_argument);
  CHECK(snapshot(w) == before);
  // And the status rule: frozen in review.
  w.flow.requests.submit(w.r1, r.id);
  CHECK(thrown_by([&] { w.flow.objects.edit_metadata(w.r1, r.id, o.id, p); }).code() ==
        errc::invalid_transition);
}

TEST_CASE("metadata: frozen once the request is in review or approved") {
  world w;
  const auto r = w.submitted();
  const auto o = w.flow.objects.list(w.r1, r.id)[0];
  metadata_patch p;
  p.title = "late";
  CHECK(thrown_by([&] { w.flow.objects.edit_metadata(w.r1, r.id, o.id, p, 1); }).code() ==
        errc::invalid_transition);
  w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
  w.flow.reviews.record(w.c2, r.id, decide(review_decision::approved));
  CHECK(thrown_by([&] { w.flow.objects.edit_metadata(w.r1, r.id, o.id, p, 1); }).code() ==
        errc::invalid_transition);
}

TEST_CASE("download: checkers and tre_admin only, never the owner; audited") {
  world w;
  const auto r = w.submitted();
  const auto o = w.flow.objects.list(w.r1, r.id)[0];
  std::string got;
  w.flow.objects.download(w.c1, r.id, o.id, [&](std::string_view s) { got.append(s); });
  CHECK(got == "n,mean\n0");
  const auto ev = w.trail(r.id).back();
  CHECK(ev.event_type == "object.downloaded");
  CHECK(ev.actor == w.c1.user_id.str());
  auto sink = [](std::string_view) {};
  CHECK(thrown_by([&] { w.flow.objects.download(w.r1, r.id, o.id, sink); }).code() ==
        errc::forbidden);
  CHECK(thrown_by([&] { w.flow.objects.download(w.r2, r.id, o.id, sink); }).code() ==
        errc::forbidden);
  CHECK(thrown_by([&] { w.flow.objects.download(w.outsider, r.id, o.id, sink); }).code() ==
        errc::not_found);
  CHECK_NOTHROW(w.flow.objects.download(w.admin, r.id, o.id, sink));
}

TEST_CASE("open_download: the same readers and audit event as download, nothing streamed") {
  world w;
  const auto r = w.submitted();
  const auto o = w.flow.objects.list(w.r1, r.id)[0];
  const auto events_before = w.trail(r.id).size();
  const auto d = w.flow.objects.open_download(w.c1, r.id, o.id);
  CHECK(d.storage_key == o.storage_key);
  CHECK(d.filename == o.filename);
  CHECK(d.content_type == "application/octet-stream");
  CHECK(d.size_bytes == o.size_bytes);
  CHECK(d.checksum_sha256 == o.checksum_sha256);
  const auto trail = w.trail(r.id);
  REQUIRE(trail.size() == events_before + 1);
  CHECK(trail.back().event_type == "object.downloaded");
  CHECK(trail.back().actor == w.c1.user_id.str());
  std::string got;
  w.blobs.get(d.storage_key, [&](std::string_view s) { got.append(s); });
  CHECK(got == "n,mean\n0");
  CHECK(thrown_by([&] { w.flow.objects.open_download(w.r1, r.id, o.id); }).code() ==
        errc::forbidden);
  CHECK(thrown_by([&] { w.flow.objects.open_download(w.outsider, r.id, o.id); }).code() ==
        errc::not_found);
  CHECK(w.trail(r.id).size() == events_before + 1);  // refusals audit nothing
  CHECK_NOTHROW(w.flow.objects.open_download(w.admin, r.id, o.id));
}

// ------------------------------------------------------------------ ingress

TEST_CASE("ingress: slots are confirmed once with their bytes before submission") {
  world w;
  const auto r = w.flow.requests.create(w.s1, {w.proj.id, direction::ingress, "Code", ""});
  new_object in;
  in.filename = "analysis.R";
  in.output_type = output_type::code;
  const auto slot = w.flow.objects.add_slot(w.s1, r.id, in);
  CHECK(slot.checksum_sha256.empty());
  CHECK(slot.size_bytes == 0);
  CHECK(thrown_by([&] { w.flow.requests.submit(w.s1, r.id); }).code() == errc::invalid_argument);
  const auto filled =
      w.flow.objects.confirm_upload(w.s1, r.id, slot.id, test::bytes_of("print(1)\n"));
  CHECK(filled.size_bytes == 9);
  CHECK(w.blobs.verify(filled.storage_key, filled.checksum_sha256));
  const snapshot before(w);
  CHECK(thrown_by([&] {
          w.flow.objects.confirm_upload(w.s1, r.id, slot.id, test::bytes_of("again"));
        }).code() == errc::conflict);
  CHECK(snapshot(w) == before);
  CHECK(w.flow.requests.submit(w.s1, r.id).status == request_status::human_review);
  const auto types = types_of(w.trail(r.id));
  CHECK(types == std::vector<std::string>{"request.created", "object.slot_created",
                                          "object.upload_confirmed", "request.submitted"});
}

TEST_CASE("ingress: slots do not exist for egress requests") {
  world w;
  const auto r = w.draft();
  new_object in;
  in.filename = "x.csv";
  const auto e = thrown_by([&] { w.flow.objects.add_slot(w.r1, r.id, in); });
  CHECK(e.code() == errc::invalid_transition);
  CHECK(std::string(e.what()) == "add_slot does not apply to egress requests");
}

// ------------------------------------------------------------------ users

TEST_CASE("users: written only when a claim changed; deactivated users are refused everywhere") {
  world w;
  const auto before = w.dir.find_user(w.r1.user_id);
  const auto audit_before = w.rows("audit_events");
  const auto same =
      w.dir.upsert_user({"sub-rita", "rita", "rita@example.org", "rita", "Tester", "Test Lab"});
  CHECK(same.updated_at == before->updated_at);
  CHECK(w.rows("audit_events") == audit_before);
  const auto moved =
      w.dir.upsert_user({"sub-rita", "rita", "rita@uni.example", "rita", "Tester", "Test Lab"});
  CHECK(moved.email == "rita@uni.example");
  CHECK(w.rows("audit_events") == audit_before + 1);

  const auto r = w.draft();
  w.dir.set_user_active(w.admin, w.r1.user_id, false);
  const snapshot frozen(w);
  CHECK(thrown_by([&] { w.flow.requests.submit(w.r1, r.id); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.requests.get(w.r1, r.id); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.requests.list(w.r1); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.upload(w.r1, r.id, "x.csv"); }).code() == errc::forbidden);
  CHECK(thrown_by([&] {
          w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "x", ""});
        }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.box.unread_count(w.r1); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.dir.list_projects(w.r1); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.dir.get_project(w.r1, w.proj.id); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.dir.project_memberships(w.r1, w.proj.id); }).code() == errc::forbidden);
  CHECK(w.dir.project_memberships(w.c1, w.proj.id).size() == 5);  // an active caller reads
  CHECK(thrown_by([&] { w.dir.project_memberships(w.c1, uuid::v7()); }).code() == errc::not_found);
  CHECK(snapshot(w) == frozen);
  CHECK(thrown_by([&] { w.dir.set_user_active(w.c1, w.r1.user_id, true); }).code() ==
        errc::forbidden);
  w.dir.set_user_active(w.admin, w.r1.user_id, true);
  CHECK(w.flow.requests.submit(w.r1, r.id).status == request_status::human_review);
}

TEST_CASE("users: a username held by another identity is a conflict") {
  world w;
  CHECK(thrown_by([&] {
          w.dir.upsert_user({"sub-other", "rita", "", "", "", ""});
        }).code() == errc::conflict);
}

// ------------------------------------------------------------------ memberships

TEST_CASE("memberships: the researcher/checker rule in the service; removals audited in full") {
  world w;
  const auto e = thrown_by([&] {
    w.dir.add_membership(w.admin, w.r1.user_id, w.proj.id, membership_role::output_checker);
  });
  CHECK(e.code() == errc::conflict);
  CHECK(std::string(e.what()).find("researcher") != std::string::npos);
  CHECK(thrown_by([&] {
          w.dir.add_membership(w.admin, w.c1.user_id, w.proj.id, membership_role::researcher);
        }).code() == errc::conflict);
  CHECK(thrown_by([&] {
          w.dir.add_membership(w.admin, w.c1.user_id, w.proj.id, membership_role::output_checker);
        }).code() == errc::conflict);
  CHECK(thrown_by([&] {
          w.dir.add_membership(w.c1, w.c1.user_id, w.proj.id, membership_role::senior_checker);
        }).code() == errc::forbidden);
  const auto senior =
      w.dir.add_membership(w.admin, w.c1.user_id, w.proj.id, membership_role::senior_checker);
  CHECK(senior.assigned_by == w.admin.user_id);
  const auto removed = w.dir.remove_membership(w.admin, senior.id);
  CHECK(removed.id == senior.id);
  CHECK(thrown_by([&] { w.dir.remove_membership(w.admin, senior.id); }).code() == errc::not_found);
  audit_log log(w.fdb.db());
  audit_query q;
  q.event_type_prefix = "membership.deleted";
  const auto page = log.query(q);
  REQUIRE(page.items.size() == 1);
  const auto& p = page.items[0].payload_json;
  for (const auto& part : {senior.id.str(), w.c1.user_id.str(), w.proj.id.str(),
                           std::string("senior_checker"), w.admin.user_id.str()})
    CHECK(p.find(part) != std::string::npos);
}

// ------------------------------------------------------------------ projects

TEST_CASE("projects: reconcile creates, renames, archives and re-activates, audited") {
  world w;
  const project_spec beta{uuid::v7(), "proj-beta", "Beta"};
  project_spec list[] = {{w.proj.id, w.proj.name, "Alpha (renamed)"}, beta};
  auto r = w.dir.reconcile_projects(w.admin, list);
  CHECK(r.created == 1);
  CHECK(r.updated == 1);
  CHECK(r.archived == 0);
  r = w.dir.reconcile_projects(w.admin, std::span(&beta, 1));
  CHECK(r.archived == 1);
  r = w.dir.reconcile_projects(w.admin, list);
  CHECK(r.updated == 1);  // re-activated
  CHECK(w.dir.get_project(w.proj.id).status == project_status::active);
  r = w.dir.reconcile_projects(w.admin, list);
  CHECK(r.created + r.updated + r.archived == 0);  // nothing changed, nothing written
  CHECK(thrown_by([&] { w.dir.reconcile_projects(w.r1, list); }).code() == errc::forbidden);
  project_spec dup[] = {beta, beta};
  CHECK(thrown_by([&] { w.dir.reconcile_projects(w.admin, dup); }).code() ==
        errc::invalid_argument);
}

// ------------------------------------------------------------------ notifications

TEST_CASE("notifications: newest first with a keyset cursor; own rows only") {
  world w;
  for (int i = 0; i < 5; ++i) w.submitted();
  const auto first = w.box.list(w.c1, 2);
  REQUIRE(first.items.size() == 2);
  REQUIRE(first.next_before);
  const auto second = w.box.list(w.c1, 2, first.next_before);
  const auto third = w.box.list(w.c1, 2, second.next_before);
  CHECK(second.items.size() == 2);
  CHECK(third.items.size() == 1);
  CHECK_FALSE(third.next_before);
  CHECK(first.items[0].created_at >= first.items[1].created_at);
  CHECK(first.items[1].created_at >= second.items[0].created_at);
  CHECK(w.box.unread_count(w.c1) == 5);
  CHECK(thrown_by([&] { w.box.mark_read(w.c2, first.items[0].id); }).code() == errc::not_found);
  CHECK(w.box.mark_read(w.c1, first.items[0].id).read);
  CHECK(w.box.unread_count(w.c1) == 4);
  CHECK(w.box.unread_count(w.c2) == 5);
  CHECK(w.box.mark_all_read(w.c1) == 4);
  CHECK(w.box.unread_count(w.c1) == 0);
  CHECK(thrown_by([&] { w.box.list(w.c1, 0); }).code() == errc::invalid_argument);
  CHECK(thrown_by([&] { w.box.list(w.c1, 101); }).code() == errc::invalid_argument);
}

// ------------------------------------------------------------------ stuck requests

TEST_CASE("stuck sweep: checkers notified once per request per stuck period") {
  world w({.stuck_after = std::chrono::hours(0)});
  const auto r = w.submitted();
  const auto draft = w.draft();  // DRAFT is never stuck
  w.box.mark_all_read(w.c1);
  const auto found = w.flow.sweeps.stuck_requests();
  REQUIRE(found.size() == 1);
  CHECK(found[0].id == r.id);
  CHECK(w.box.unread_count(w.c1) == 1);
  CHECK(w.box.list(w.c1).items[0].event_type == "request.stuck");
  CHECK(w.flow.sweeps.stuck_requests().empty());  // same period: once
  // CHANGES_REQUESTED waits on the researcher, not on the checkers.
  const auto o = w.flow.objects.list(w.r1, r.id)[0];
  auto ask = decide(review_decision::changes_requested);
  ask.object_decisions = {{o.id, review_decision::changes_requested, ""}};
  w.flow.reviews.record(w.c1, r.id, ask);
  w.flow.reviews.record(w.c2, r.id, decide(review_decision::approved));
  CHECK(w.flow.sweeps.stuck_requests().empty());
  // Back in review: a new stuck period, reported again. (SQLite's clock has
  // millisecond resolution; let it move past the previous report.)
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  new_object in;
  in.filename = "v2.csv";
  w.flow.objects.replace(w.r1, r.id, o.id, in, test::bytes_of("fixed"));
  w.flow.requests.resubmit(w.r1, r.id);
  const auto again = w.flow.sweeps.stuck_requests();
  REQUIRE(again.size() == 1);
  CHECK(again[0].review_round == 2);
  CHECK(w.flow.requests.get(w.r1, draft.id).status == request_status::draft);
}

TEST_CASE("stuck sweep: requests younger than the threshold are left alone") {
  world w({.stuck_after = std::chrono::hours(72)});
  w.submitted();
  CHECK(w.flow.sweeps.stuck_requests().empty());
}

TEST_CASE("options: the two-person rule cannot be configured away") {
  test::fresh_database f;
  test::temp_dir d;
  filesystem_blob_store blobs(d.path());
  CHECK(thrown_by([&] { workflow(f.db(), blobs, {.required_reviews = 1}); }).code() ==
        errc::invalid_argument);
}

TEST_CASE("reads for the daemon: request detail, a request's audit trail, counts by status") {
  world w;
  const auto r = w.draft(2);
  const auto d = w.flow.requests.get_detail(w.r1, r.id);
  CHECK(d.request.id == r.id);
  CHECK(d.objects.size() == 2);
  CHECK(thrown_by([&] { w.flow.requests.get_detail(w.outsider, r.id); }).code() == errc::not_found);

  const auto events = w.flow.requests.audit_trail(w.c1, r.id);
  REQUIRE(events.size() == 3);  // created, two uploads
  CHECK(events.front().event_type == "request.created");
  for (std::size_t i = 1; i < events.size(); ++i) CHECK(events[i].seq > events[i - 1].seq);
  const auto trail = w.trail(r.id);
  REQUIRE(trail.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].id == trail[i].id);
  CHECK(thrown_by([&] { w.flow.requests.audit_trail(w.outsider, r.id); }).code() ==
        errc::not_found);

  w.submitted();
  const auto counts = w.flow.requests.count_by_status();
  REQUIRE(counts.size() == enum_names<request_status>::names.size());
  std::int64_t total = 0;
  for (const auto& [status, n] : counts) {
    total += n;
    if (status == request_status::draft) CHECK(n == 1);
    if (status == request_status::human_review) CHECK(n == 1);
  }
  CHECK(total == w.rows("airlock_requests"));
}

TEST_CASE("requests: listed a page at a time, newest first, every request once") {
  world w;
  std::vector<uuid> made;
  for (int i = 0; i < 7; ++i) made.push_back(w.draft(0, "r" + std::to_string(i)).id);
  const auto all = w.flow.requests.list(w.r1);
  REQUIRE(all.size() == 7);
  CHECK(all.front().id == made.back());  // newest first

  std::vector<uuid> paged;
  request_list_filter f;
  f.limit = 3;
  std::size_t pages = 0;
  for (;;) {
    const auto page = w.flow.requests.list_page(w.r1, f);
    ++pages;
    CHECK(page.items.size() <= 3);
    for (const auto& r : page.items) paged.push_back(r.id);
    if (page.next_cursor.empty()) break;
    // A request created between pages lands before the cursor: not repeated, not shifting.
    if (pages == 1) w.draft(0, "late");
    f.cursor = page.next_cursor;
  }
  CHECK(pages == 3);
  REQUIRE(paged.size() == 7);
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(paged[i] == all[i].id);

  // Filters apply to every page; an outsider sees nothing.
  CHECK(w.flow.requests.list_page(w.outsider, {.limit = 3}).items.empty());
  f = {};
  f.status = request_status::submitted;
  f.limit = 2;
  CHECK(w.flow.requests.list_page(w.r1, f).items.empty());

  f = {};
  f.cursor = "not-a-cursor";
  CHECK(test::thrown_by([&] { w.flow.requests.list_page(w.r1, f); }).code() ==
        errc::invalid_argument);
  f = {};
  f.limit = max_request_page + 1;
  CHECK(test::thrown_by([&] { w.flow.requests.list_page(w.r1, f); }).code() ==
        errc::invalid_argument);
}

// ------------------------------------------------------------------ auditor

TEST_CASE("auditor: reads every request, its metadata, reviews, trail and the read models") {
  world w;
  const auto r = w.submitted();
  w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
  actor au = w.actor_for("auditor1");
  au.auditor = true;
  // Not a member of the project, not tre_admin: sees it all the same.
  CHECK(w.flow.requests.get(au, r.id).id == r.id);
  CHECK(w.flow.requests.get_detail(au, r.id).request.id == r.id);
  CHECK(w.flow.requests.list(au).size() == w.flow.requests.list(w.admin).size());
  CHECK_FALSE(w.flow.requests.audit_trail(au, r.id).empty());
  const auto objects = w.flow.objects.list(au, r.id);
  REQUIRE(objects.size() == 1);
  w.flow.objects.metadata(au, r.id, objects[0].id);
  w.flow.objects.versions(au, r.id, objects[0].id);
  CHECK(w.flow.reviews.list(au, r.id).size() == 1);
  dashboard board(w.fdb.db());
  CHECK_FALSE(board.audit_search(au, {}).items.empty());
  board.metrics(au, {});
  board.require_overseer(au);
  CHECK(thrown_by([&] { board.require_overseer(w.c1); }).code() == errc::forbidden);
  CHECK(w.dir.list_users(au, std::nullopt).size() ==
        w.dir.list_users(w.admin, std::nullopt).size());
  CHECK(au.oversees());
  CHECK_FALSE(au.acting_admin());
}

TEST_CASE("auditor: changes nothing, whatever else it holds; refusals write nothing") {
  world w;
  actor au = w.actor_for("auditor2", /*tre_admin=*/true);
  au.auditor = true;
  // A researcher and a checker on the project too: still read-only.
  w.dir.add_membership(w.admin, au.user_id, w.proj.id, membership_role::researcher);
  const auto draft = w.draft();
  const auto oid = w.flow.objects.list(w.r1, draft.id)[0].id;
  const auto submitted = w.submitted();
  const snapshot before(w);
  new_object in;
  in.filename = "x.csv";
  std::string sink;
  const std::vector<std::pair<const char*, std::function<void()>>> attempts{
      {"create",
       [&] {
         w.flow.requests.create(au, {w.proj.id, direction::egress, "T", ""});
       }},
      {"upload", [&] { w.flow.objects.add(au, draft.id, in, test::bytes_of("a")); }},
      {"replace", [&] { w.flow.objects.replace(au, draft.id, oid, in, test::bytes_of("a")); }},
      {"metadata", [&] { w.flow.objects.edit_metadata(au, draft.id, oid, {.title = "x"}); }},
      {"submit", [&] { w.flow.requests.submit(au, draft.id); }},
      {"withdraw", [&] { w.flow.requests.withdraw(au, draft.id); }},
      {"download",
       [&] { w.flow.objects.download(au, draft.id, oid, [&](std::string_view b) { sink += b; }); }},
      {"human review",
       [&] { w.flow.reviews.record(au, submitted.id, decide(review_decision::approved)); }},
      {"membership",
       [&] {
         w.dir.add_membership(au, w.outsider.user_id, w.proj.id, membership_role::researcher);
       }},
      {"deactivate", [&] { w.dir.set_user_active(au, w.outsider.user_id, false); }},
  };
  for (const auto& [what, attempt] : attempts) {
    CAPTURE(what);
    CHECK(thrown_by(attempt).code() == errc::forbidden);
  }
  CHECK(sink.empty());
  CHECK(snapshot(w) == before);
}

// ------------------------------------------------------------- round trips

/// The client's round trips (Query and Sync messages in libpq's protocol
/// trace) on the only connection of a pool of one, while alive.
class round_trips {
 public:
  explicit round_trips(database& db) {
    auto lease = db.impl().acquire();
    conn_ = static_cast<soci::postgresql_session_backend*>(lease->sql.get_backend())->conn_;
    file_ = std::tmpfile();
    PQtrace(conn_, file_);
    PQsetTraceFlags(conn_, PQTRACE_SUPPRESS_TIMESTAMPS);
  }
  ~round_trips() {
    PQuntrace(conn_);
    std::fclose(file_);
  }
  round_trips(const round_trips&) = delete;
  round_trips& operator=(const round_trips&) = delete;
  long count() {
    std::fflush(file_);
    std::rewind(file_);
    long n = 0;
    char line[4096];
    while (std::fgets(line, sizeof line, file_))
      if (line[0] == 'F' && (std::strstr(line, "\tSync") || std::strstr(line, "\tQuery\t"))) ++n;
    return n;
  }

 private:
  PGconn* conn_ = nullptr;
  std::FILE* file_ = nullptr;
};

TEST_CASE(
    "round trips on PostgreSQL besides BEGIN and COMMIT: submit 2, a review 2, the closing one 2") {
  if (!test::on_postgres()) return;  // SQLite is in the process: nothing to count
  world w({}, false, /*pool_size=*/1);
  const auto first = w.draft(), second = w.draft();
  const auto measure = [&](const std::function<void()>& op) {
    round_trips trace(w.fdb.db());
    op();
    return trace.count() - 2;  // BEGIN and COMMIT
  };
  // The first request prepares the statements on the connection.
  w.flow.requests.submit(w.r1, first.id);
  w.flow.reviews.record(w.c1, first.id, decide(review_decision::approved));
  w.flow.reviews.record(w.c2, first.id, decide(review_decision::approved));

  CHECK(measure([&] { w.flow.requests.submit(w.r1, second.id); }) == 2);
  CHECK(measure([&] {
          w.flow.reviews.record(w.c1, second.id, decide(review_decision::approved));
        }) == 2);
  CHECK(measure([&] {
          w.flow.reviews.record(w.c2, second.id, decide(review_decision::approved));
        }) == 2);
  // ... and every write happened: the round closed with its effects.
  CHECK(w.flow.requests.get(w.r1, second.id).status == request_status::approved);
  const auto trail = w.trail(second.id);
  CHECK(std::count_if(trail.begin(), trail.end(), [](const audit_event& e) {
          return e.event_type == "object.state_changed";
        }) == 1);
  CHECK(w.rows("notifications") > 0);
}

}  // namespace
}  // namespace trevor
