// Independent review (checkers do not see each other's verdicts on an open
// round before recording their own) through every read that shows reviews,
// and the reasons a review or a withdrawal gives.
#include <algorithm>

#include "world.hpp"

namespace json = boost::json;

namespace trevor {
namespace {

using test::thrown_by;

bool lists(const std::vector<review>& reviews, const uuid& id) {
  return std::any_of(reviews.begin(), reviews.end(), [&](const review& r) { return r.id == id; });
}

/// The review.created event of review `id` in `trail`, parsed.
json::object created_event(const std::vector<audit_event>& trail, const uuid& id) {
  for (const auto& e : trail)
    if (e.event_type == "review.created") {
      auto p = test::payload_of(e);
      if (p.at("review_id") == json::value(id.str())) return p;
    }
  FAIL("no review.created for ", id.str());
  return {};
}

/// Whether `reviewer`'s feedback is in the object's checker_feedback as `who` reads it.
bool sees_feedback(test::world& w, const actor& who, const uuid& request, const uuid& object,
                   const uuid& reviewer) {
  const auto m = w.flow.objects.metadata(who, request, object);
  const auto feedback = json::parse(m.checker_feedback_json);
  for (const auto& e : feedback.as_array())
    if (e.at("reviewer_id") == json::value(reviewer.str())) return true;
  return false;
}

actor auditor_of(test::world& w) {
  actor a = w.actor_for("audrey");
  a.auditor = true;
  return a;
}

workflow_options three_reviewers(bool independent = true) {
  workflow_options o;
  o.required_reviews = 3;
  o.independent_review = independent;
  return o;
}

}  // namespace

TEST_CASE("independent review: a checker sees no other human's review of the open round") {
  test::world w(three_reviewers());
  auto auditor = auditor_of(w);
  const auto r = w.submitted(1);
  const auto obj = w.flow.objects.list(w.r1, r.id)[0];
  auto ask = test::decide(review_decision::changes_requested, "round the counts");
  ask.object_decisions = {{obj.id, review_decision::changes_requested, "cells under 10"}};
  const auto a = w.flow.reviews.record(w.c1, r.id, ask);

  // c2 and s1 have not reviewed: c1's review is nowhere to be seen.
  for (const auto* who : {&w.c2, &w.s1}) {
    CHECK_FALSE(lists(w.flow.reviews.list(*who, r.id), a.id));
    const auto e = thrown_by([&] { w.flow.reviews.get(*who, r.id, a.id); });
    CHECK(e.code() == errc::not_found);
    const auto event = created_event(w.flow.requests.audit_trail(*who, r.id), a.id);
    CHECK_FALSE(event.contains("decision"));
    CHECK_FALSE(event.contains("object_decisions"));
    CHECK_FALSE(event.contains("accepted_agent_findings"));
    CHECK(event.at("redacted") ==
          json::array{"decision", "accepted_agent_findings", "object_decisions"});
    CHECK(event.at("reviewer_type") == "human");
    CHECK_FALSE(sees_feedback(w, *who, r.id, obj.id, w.c1.user_id));
  }
  // The reviewer, tre_admin, an auditor and the request's owner see it whole.
  for (const auto* who : {&w.c1, &w.admin, &auditor, &w.r1}) {
    CHECK(lists(w.flow.reviews.list(*who, r.id), a.id));
    CHECK(w.flow.reviews.get(*who, r.id, a.id).decision == review_decision::changes_requested);
    const auto event = created_event(w.flow.requests.audit_trail(*who, r.id), a.id);
    CHECK(event.at("decision") == "changes_requested");
    CHECK_FALSE(event.contains("redacted"));
    CHECK(sees_feedback(w, *who, r.id, obj.id, w.c1.user_id));
  }
  // The table itself keeps everything.
  CHECK(w.rows("reviews") == 1);

  // c2 reviews: the round is still open (three reviewers), and c2 sees both.
  const auto b = w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  REQUIRE(w.flow.requests.get(w.admin, r.id).status == request_status::human_review);
  const auto seen = w.flow.reviews.list(w.c2, r.id);
  CHECK(seen.size() == 2);
  CHECK(lists(seen, a.id));
  CHECK(w.flow.reviews.get(w.c2, r.id, a.id).summary == "round the counts");
  CHECK(created_event(w.flow.requests.audit_trail(w.c2, r.id), a.id).at("decision") ==
        "changes_requested");
  CHECK(sees_feedback(w, w.c2, r.id, obj.id, w.c1.user_id));
  // c1, who reviewed first, sees c2's now too; s1 still neither.
  CHECK(lists(w.flow.reviews.list(w.c1, r.id), b.id));
  CHECK(w.flow.reviews.list(w.s1, r.id).empty());
  CHECK(thrown_by([&] { w.flow.reviews.get(w.s1, r.id, b.id); }).code() == errc::not_found);

  // The senior checker's dashboard leaves out the open round; tre_admin's counts it.
  auto reviews_of = [&](const actor& who) {
    std::int64_t n = 0;
    for (const auto& p : dashboard(w.fdb.db()).checkers(who, {})) n += p.reviews;
    return n;
  };
  CHECK(reviews_of(w.s1) == 0);
  CHECK(reviews_of(w.admin) == 2);

  // s1 reviews and the round closes: everyone sees everything.
  w.flow.reviews.record(w.s1, r.id, test::decide(review_decision::approved));
  REQUIRE(w.flow.requests.get(w.admin, r.id).status == request_status::changes_requested);
  CHECK(w.flow.reviews.list(w.s1, r.id).size() == 3);
  CHECK(reviews_of(w.s1) == 3);
}

TEST_CASE("independent review: a closed round is open to all; the next round hides again") {
  test::world w(three_reviewers());
  const auto r = w.submitted(1);
  const auto obj = w.flow.objects.list(w.r1, r.id)[0];
  auto ask = test::decide(review_decision::changes_requested, "suppress");
  ask.object_decisions = {{obj.id, review_decision::changes_requested, "cells under 10"}};
  const auto first = w.flow.reviews.record(w.c1, r.id, ask);
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.s1, r.id, test::decide(review_decision::approved));
  REQUIRE(w.flow.requests.get(w.admin, r.id).status == request_status::changes_requested);
  w.flow.objects.replace(w.r1, r.id, obj.id, {.filename = "table1.csv"}, test::bytes_of("n\n10"));
  w.flow.requests.resubmit(w.r1, r.id);
  // Round 2: c2 reviews; c1 has not reviewed round 2 but sees round 1 whole.
  const auto second = w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  const auto seen = w.flow.reviews.list(w.c1, r.id);
  CHECK(lists(seen, first.id));
  CHECK_FALSE(lists(seen, second.id));
  const auto trail = w.flow.requests.audit_trail(w.c1, r.id);
  CHECK(created_event(trail, first.id).at("decision") == "changes_requested");
  CHECK_FALSE(created_event(trail, second.id).contains("decision"));
}

TEST_CASE("independent review: the agent's review stays visible to every checker") {
  auto o = three_reviewers();
  o.agent_review = true;
  test::world w(o);
  const auto r = w.submitted(1);
  const auto agent = w.agent_review(r.id, review_decision::approved);
  const auto human = w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  const auto seen = w.flow.reviews.list(w.c2, r.id);
  CHECK(lists(seen, agent.id));
  CHECK_FALSE(lists(seen, human.id));
  CHECK(w.flow.reviews.get(w.c2, r.id, agent.id).decision == review_decision::approved);
  const auto trail = w.flow.requests.audit_trail(w.c2, r.id);
  CHECK(created_event(trail, agent.id).at("decision") == "approved");
  CHECK_FALSE(created_event(trail, human.id).contains("decision"));
}

TEST_CASE("independent review off: every member sees every review at once") {
  test::world w(three_reviewers(false));
  const auto r = w.submitted(1);
  const auto a = w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  CHECK(lists(w.flow.reviews.list(w.c2, r.id), a.id));
  CHECK(w.flow.reviews.get(w.c2, r.id, a.id).id == a.id);
  CHECK(created_event(w.flow.requests.audit_trail(w.c2, r.id), a.id).at("decision") == "approved");
  CHECK(dashboard(w.fdb.db(), std::chrono::hours(72), false).checkers(w.s1, {}).size() == 1);
}

TEST_CASE("independent review, the rule alone: who is subject to it and what it hides") {
  airlock_request req;
  req.status = request_status::human_review;
  req.review_round = 2;
  const uuid me = uuid::v7(), other = uuid::v7();
  auto make = [&](std::int64_t round, std::optional<uuid> by) {
    review v;
    v.id = uuid::v7();
    v.round = round;
    v.reviewer_id = by;
    v.reviewer_type = by ? reviewer_type::human : reviewer_type::agent;
    return v;
  };
  const std::vector<review> reviews{make(1, other), make(2, std::nullopt), make(2, other)};
  actor_facts checker;
  checker.roles.output_checker = true;
  CHECK(hidden_reviews(req, reviews, me, checker) == std::vector<uuid>{reviews[2].id});
  for (auto s : {request_status::submitted, request_status::agent_review}) CHECK(round_open(s));
  for (auto s : {request_status::approved, request_status::changes_requested,
                 request_status::rejected, request_status::released, request_status::revoked}) {
    req.status = s;
    CHECK(hidden_reviews(req, reviews, me, checker).empty());
  }
  req.status = request_status::human_review;
  auto mine = reviews;
  mine.push_back(make(2, me));
  CHECK(hidden_reviews(req, mine, me, checker).empty());
  for (auto change :
       {+[](actor_facts& a) { a.tre_admin = true; }, +[](actor_facts& a) { a.auditor = true; },
        +[](actor_facts& a) { a.is_owner = true; },
        +[](actor_facts& a) {
          a.roles = {true, false, false};
        }}) {
    actor_facts a;
    a.roles.output_checker = true;
    change(a);
    if (a.roles.researcher) a.roles.output_checker = false;
    CHECK_FALSE(reviews_independently(a));
    CHECK(hidden_reviews(req, reviews, me, a).empty());
  }
}

// ----------------------------------------------------------------- reasons

TEST_CASE("reasons: asking for changes or rejecting needs a summary; approving does not") {
  test::world w;
  const auto r = w.submitted(1);
  for (auto d : {review_decision::changes_requested, review_decision::rejected})
    for (const std::string blank : {"", " \t\n "}) {
      const auto e = thrown_by([&] { w.flow.reviews.record(w.c1, r.id, test::decide(d, blank)); });
      CHECK(e.code() == errc::invalid_argument);
      CHECK(std::string(e.what()).starts_with("summary: required when the decision is " +
                                              std::string(to_string(d))));
    }
  CHECK(w.rows("reviews") == 0);
  CHECK(w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved, "")).id !=
        uuid());
  CHECK(w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::rejected, "identifiable"))
            .decision == review_decision::rejected);
}

TEST_CASE("reasons: a withdrawal records its reason when one is given") {
  test::world w;
  const auto a = w.draft(1);
  const auto b = w.draft(1);
  w.flow.requests.withdraw(w.r1, a.id, "submitted to the wrong project");
  w.flow.requests.withdraw(w.r1, b.id);
  const auto pa = test::payload_of(w.trail(a.id).back());
  CHECK(w.trail(a.id).back().event_type == "request.withdrawn");
  CHECK(pa.at("reason") == "submitted to the wrong project");
  CHECK(pa.at("to") == "WITHDRAWN");
  CHECK_FALSE(test::payload_of(w.trail(b.id).back()).contains("reason"));
  const auto c = w.draft(1);
  const auto e = thrown_by([&] { w.flow.requests.withdraw(w.r1, c.id, std::string(2001, 'x')); });
  CHECK(e.code() == errc::invalid_argument);
  CHECK(std::string(e.what()).starts_with("reason:"));
  CHECK(w.flow.requests.get(w.r1, c.id).status == request_status::draft);
}

}  // namespace trevor
