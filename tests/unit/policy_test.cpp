// The workflow policy without a database: every cell of the transition table
// and every numbered review rule (libtrevor/README.md, "Review rules").
#include <fstream>
#include <set>
#include <sstream>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "trevor/policy.hpp"
#include "world.hpp"

namespace trevor {
namespace {

using rs = request_status;
using op = operation;

constexpr direction both_directions[] = {direction::egress, direction::ingress};

/// The rule must exist for the given direction(s) with this party.
void expect_rule(std::optional<rs> from, op o, rs to, party who,
                 std::initializer_list<direction> dirs = {direction::egress, direction::ingress}) {
  for (auto d : both_directions) {
    const bool wanted = std::find(dirs.begin(), dirs.end(), d) != dirs.end();
    const auto* t = find_transition(from, o, d, to);
    INFO(to_string(o) << " for " << to_string(d));
    CHECK((t != nullptr) == wanted);
    if (t) CHECK(t->who == who);
  }
}

// ------------------------------------------------ one test per table row

TEST_CASE("table: create makes a DRAFT, by a contributor") {
  expect_rule(std::nullopt, op::create, rs::draft, party::contributor);
}
TEST_CASE("table: DRAFT add object stays DRAFT") {
  expect_rule(rs::draft, op::add_object, rs::draft, party::contributor);
}
TEST_CASE("table: DRAFT add ingress slot stays DRAFT, ingress only") {
  expect_rule(rs::draft, op::add_slot, rs::draft, party::contributor, {direction::ingress});
}
TEST_CASE("table: DRAFT confirm upload stays DRAFT, ingress only") {
  expect_rule(rs::draft, op::confirm_upload, rs::draft, party::contributor, {direction::ingress});
}
TEST_CASE("table: DRAFT replace object stays DRAFT") {
  expect_rule(rs::draft, op::replace_object, rs::draft, party::contributor);
}
TEST_CASE("table: DRAFT edit metadata stays DRAFT") {
  expect_rule(rs::draft, op::edit_metadata, rs::draft, party::contributor);
}
TEST_CASE("table: DRAFT submit goes to SUBMITTED with the agent on") {
  expect_rule(rs::draft, op::submit, rs::submitted, party::owner_or_admin);
}
TEST_CASE("table: DRAFT submit goes to HUMAN_REVIEW with the agent off") {
  expect_rule(rs::draft, op::submit, rs::human_review, party::owner_or_admin);
}
TEST_CASE("table: SUBMITTED agent starts goes to AGENT_REVIEW") {
  expect_rule(rs::submitted, op::start_agent_review, rs::agent_review, party::agent);
}
TEST_CASE("table: SUBMITTED agent review recorded passes through AGENT_REVIEW") {
  expect_rule(rs::submitted, op::record_agent_review, rs::agent_review, party::agent);
}
TEST_CASE("table: AGENT_REVIEW agent review recorded goes to HUMAN_REVIEW") {
  expect_rule(rs::agent_review, op::record_agent_review, rs::human_review, party::agent);
}
TEST_CASE("table: HUMAN_REVIEW round closes APPROVED") {
  expect_rule(rs::human_review, op::close_round, rs::approved, party::system);
}
TEST_CASE("table: HUMAN_REVIEW round closes CHANGES_REQUESTED") {
  expect_rule(rs::human_review, op::close_round, rs::changes_requested, party::system);
}
TEST_CASE("table: HUMAN_REVIEW round closes REJECTED") {
  expect_rule(rs::human_review, op::close_round, rs::rejected, party::system);
}
TEST_CASE("table: CHANGES_REQUESTED replace object stays CHANGES_REQUESTED") {
  expect_rule(rs::changes_requested, op::replace_object, rs::changes_requested, party::contributor);
}
TEST_CASE("table: CHANGES_REQUESTED edit metadata stays CHANGES_REQUESTED") {
  expect_rule(rs::changes_requested, op::edit_metadata, rs::changes_requested, party::contributor);
}
TEST_CASE("table: CHANGES_REQUESTED resubmit goes to SUBMITTED with the agent on") {
  expect_rule(rs::changes_requested, op::resubmit, rs::submitted, party::owner_or_admin);
}
TEST_CASE("table: CHANGES_REQUESTED resubmit goes to HUMAN_REVIEW with the agent off") {
  expect_rule(rs::changes_requested, op::resubmit, rs::human_review, party::owner_or_admin);
}
TEST_CASE("table: DRAFT withdraw goes to WITHDRAWN") {
  expect_rule(rs::draft, op::withdraw, rs::withdrawn, party::owner_or_admin);
}
TEST_CASE("table: CHANGES_REQUESTED withdraw goes to WITHDRAWN") {
  expect_rule(rs::changes_requested, op::withdraw, rs::withdrawn, party::owner_or_admin);
}
TEST_CASE("table: APPROVED release starts RELEASING, egress only, tre_admin") {
  expect_rule(rs::approved, op::start_release, rs::releasing, party::admin, {direction::egress});
}
TEST_CASE("table: RELEASING release finishes RELEASED, egress only") {
  expect_rule(rs::releasing, op::finish_release, rs::released, party::system, {direction::egress});
}
TEST_CASE("table: RELEASING release failure returns to APPROVED, egress only") {
  expect_rule(rs::releasing, op::fail_release, rs::approved, party::system, {direction::egress});
}
TEST_CASE("table: APPROVED deliver goes to RELEASED, ingress only, tre_admin") {
  expect_rule(rs::approved, op::deliver, rs::released, party::admin, {direction::ingress});
}
TEST_CASE("table: RELEASED revoke goes to REVOKED, egress only, tre_admin") {
  expect_rule(rs::released, op::revoke, rs::revoked, party::admin, {direction::egress});
}

// The transition table written out again, independently of the code: every
// combination of (from, operation, direction, to) outside it is refused.
TEST_CASE("table: every other (from, operation, to) is an invalid transition") {
  const std::set<std::string> allowed = {
      "-:create:*:DRAFT",
      "DRAFT:add_object:*:DRAFT",
      "DRAFT:add_slot:ingress:DRAFT",
      "DRAFT:confirm_upload:ingress:DRAFT",
      "DRAFT:replace_object:*:DRAFT",
      "DRAFT:edit_metadata:*:DRAFT",
      "DRAFT:submit:*:SUBMITTED",
      "DRAFT:submit:*:HUMAN_REVIEW",
      "SUBMITTED:start_agent_review:*:AGENT_REVIEW",
      "SUBMITTED:record_agent_review:*:AGENT_REVIEW",
      "AGENT_REVIEW:record_agent_review:*:HUMAN_REVIEW",
      "AGENT_REVIEW:fail_agent_review:*:SUBMITTED",
      "HUMAN_REVIEW:close_round:*:APPROVED",
      "HUMAN_REVIEW:close_round:*:CHANGES_REQUESTED",
      "HUMAN_REVIEW:close_round:*:REJECTED",
      "CHANGES_REQUESTED:replace_object:*:CHANGES_REQUESTED",
      "CHANGES_REQUESTED:edit_metadata:*:CHANGES_REQUESTED",
      "CHANGES_REQUESTED:resubmit:*:SUBMITTED",
      "CHANGES_REQUESTED:resubmit:*:HUMAN_REVIEW",
      "DRAFT:withdraw:*:WITHDRAWN",
      "CHANGES_REQUESTED:withdraw:*:WITHDRAWN",
      "APPROVED:start_release:egress:RELEASING",
      "RELEASING:finish_release:egress:RELEASED",
      "RELEASING:fail_release:egress:APPROVED",
      "APPROVED:deliver:ingress:RELEASED",
      "RELEASED:revoke:egress:REVOKED",
  };
  std::size_t found = 0;
  for (std::size_t f = 0; f <= enum_names<rs>::names.size(); ++f) {
    const std::optional<rs> from =
        f == 0 ? std::nullopt : std::optional<rs>(static_cast<rs>(f - 1));
    for (std::size_t o = 0; o < enum_names<op>::names.size(); ++o)
      for (auto d : both_directions)
        for (std::size_t t = 0; t < enum_names<rs>::names.size(); ++t) {
          const auto oper = static_cast<op>(o);
          const auto to = static_cast<rs>(t);
          const std::string from_s = from ? std::string(to_string(*from)) : "-";
          const std::string key =
              fmt::format("{}:{}:{}:{}", from_s, to_string(oper), "{}", to_string(to));
          const bool expected = allowed.count(fmt::format(fmt::runtime(key), "*")) ||
                                allowed.count(fmt::format(fmt::runtime(key), to_string(d)));
          INFO(key << " " << to_string(d));
          const auto* rule = find_transition(from, oper, d, to);
          CHECK((rule != nullptr) == expected);
          if (rule) ++found;
          if (from && !expected) {
            const auto e = test::thrown_by([&] { require_transition(*from, oper, d, to); });
            CHECK(e.code() == errc::invalid_transition);
          }
        }
  }
  CHECK(found == 2 * 19 + 7);  // 19 rows for both directions, 7 for one
}

TEST_CASE("table: refusals name the current status and where the operation is allowed") {
  auto e = test::thrown_by(
      [] { require_transition(rs::human_review, op::submit, direction::egress, rs::submitted); });
  CHECK(e.code() == errc::invalid_transition);
  CHECK(std::string(e.what()) == "request is HUMAN_REVIEW; submit is allowed only in DRAFT");
  e = test::thrown_by(
      [] { require_transition(rs::draft, op::add_slot, direction::egress, rs::draft); });
  CHECK(std::string(e.what()) == "add_slot does not apply to egress requests");
}

TEST_CASE("table: every operation names one party per direction") {
  for (std::size_t o = 0; o < enum_names<op>::names.size(); ++o)
    for (auto d : both_directions) {
      const auto* first = first_rule(static_cast<op>(o), d);
      for (const auto& t : transitions)
        if (t.op == static_cast<op>(o) && in_scope(t.scope, d)) {
          REQUIRE(first != nullptr);
          CHECK(t.who == first->who);
        }
    }
  CHECK(first_rule(op::add_slot, direction::egress) == nullptr);
  CHECK(first_rule(op::deliver, direction::ingress)->who == party::admin);
}

TEST_CASE("table: terminal states have no way out but the revocation of a release") {
  for (const auto& t : transitions)
    if (t.from && is_terminal(*t.from)) {
      CHECK(t.op == op::revoke);
      CHECK(*t.from == rs::released);
      CHECK(t.to == rs::revoked);
    }
  CHECK(is_terminal(rs::released));
  CHECK(is_terminal(rs::rejected));
  CHECK(is_terminal(rs::withdrawn));
  CHECK(is_terminal(rs::revoked));
  CHECK_FALSE(is_terminal(rs::approved));
  for (const auto& t : transitions) CHECK(t.from != std::optional<rs>(rs::revoked));
  CHECK(status_event_type(op::revoke, rs::revoked) == "request.revoked");
}

TEST_CASE("table: every state is reachable from creation") {
  std::set<rs> reached;
  for (const auto& t : transitions)
    if (!t.from) reached.insert(t.to);
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& t : transitions)
      if (t.from && reached.count(*t.from) && reached.insert(t.to).second) grew = true;
  }
  CHECK(reached.size() == enum_names<rs>::names.size());
}

TEST_CASE("README state diagram is generated from the table and up to date") {
  const std::string generated = state_diagram_mermaid();
  std::ifstream in(TREVOR_README);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  const std::string begin =
      "<!-- state-diagram:begin (generated from libtrevor's transition "
      "table; TREVOR_UPDATE_DOCS=1 rewrites it) -->\n```mermaid\n";
  const std::string end = "```\n<!-- state-diagram:end -->";
  const auto b = readme.find(begin);
  const auto e = readme.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  const std::string current = readme.substr(b + begin.size(), e - b - begin.size());
  if (current != generated && test::rewrite_requested("TREVOR_UPDATE_DOCS")) {
    std::ofstream(TREVOR_README) << readme.substr(0, b + begin.size()) << generated
                                 << readme.substr(e);
    MESSAGE("README state diagram rewritten");
    return;
  }
  CHECK_MESSAGE(current == generated,
                "README's state diagram is stale: run the tests with TREVOR_UPDATE_DOCS=1");
}

TEST_CASE("diagram: one arrow per pair of states, every operation named") {
  const std::string d = state_diagram_mermaid();
  CHECK(d.starts_with("stateDiagram-v2\n"));
  CHECK(d.find("    [*] --> DRAFT: create\n") != std::string::npos);
  CHECK(d.find("    DRAFT --> HUMAN_REVIEW: submit [agent off]\n") != std::string::npos);
  CHECK(d.find("    APPROVED --> RELEASED: deliver (ingress)\n") != std::string::npos);
  CHECK(d.find("    RELEASED --> REVOKED: revoke (egress)\n") != std::string::npos);
  CHECK(d.find("    REVOKED --> [*]\n") != std::string::npos);
  for (std::size_t o = 0; o < enum_names<op>::names.size(); ++o)
    CHECK(d.find(std::string(enum_names<op>::names[o])) != std::string::npos);
}

// ------------------------------------------------------------------ parties

TEST_CASE("parties: egress contributors are researchers; ingress ones tre_admin or seniors") {
  actor_facts researcher;
  researcher.roles.researcher = true;
  actor_facts senior;
  senior.roles.senior_checker = true;
  actor_facts admin;
  admin.tre_admin = true;
  actor_facts checker;
  checker.roles.output_checker = true;
  CHECK(acts_as(party::contributor, researcher, direction::egress));
  CHECK_FALSE(acts_as(party::contributor, researcher, direction::ingress));
  CHECK(acts_as(party::contributor, senior, direction::ingress));
  CHECK(acts_as(party::contributor, admin, direction::ingress));
  CHECK_FALSE(acts_as(party::contributor, admin, direction::egress));
  CHECK_FALSE(acts_as(party::contributor, checker, direction::ingress));
  actor_facts owner;
  owner.is_owner = true;
  CHECK(acts_as(party::owner_or_admin, owner, direction::egress));
  CHECK(acts_as(party::owner_or_admin, admin, direction::egress));
  CHECK_FALSE(acts_as(party::owner_or_admin, researcher, direction::egress));
  actor_facts agent;
  agent.is_agent = true;
  CHECK(acts_as(party::agent, agent, direction::egress));
  CHECK_FALSE(acts_as(party::agent, admin, direction::egress));
  CHECK_FALSE(acts_as(party::system, admin, direction::egress));
}

// -------------------------------------------------------------------- reviews

struct round_builder {
  airlock_request request;
  std::vector<review> reviews;
  std::vector<output_object> objects;
  int required = 2;
  uuid owner = uuid::v7();

  round_builder() {
    request.id = uuid::v7();
    request.status = rs::human_review;
    request.owner_id = owner;
    request.review_round = 1;
  }
  const output_object& object(object_state s = object_state::pending) {
    output_object o;
    o.id = uuid::v7();
    o.logical_object_id = uuid::v7();
    o.request_id = request.id;
    o.state = s;
    objects.push_back(o);
    return objects.back();
  }
  void agent(review_decision d) {
    review r;
    r.reviewer_type = reviewer_type::agent;
    r.decision = d;
    r.round = request.review_round;
    reviews.push_back(r);
  }
  void human(const uuid& who, review_decision d, std::vector<object_decision> per_object = {}) {
    review r;
    r.reviewer_type = reviewer_type::human;
    r.reviewer_id = who;
    r.decision = d;
    r.round = request.review_round;
    std::string f = "[";
    for (std::size_t i = 0; i < per_object.size(); ++i)
      f += fmt::format("{}{{\"object_id\":\"{}\",\"decision\":\"{}\",\"feedback\":\"\"}}",
                       i ? "," : "", per_object[i].object_id.str(),
                       to_string(per_object[i].decision));
    r.findings_json = f + "]";
    r.object_decisions = per_object;  // as the store reads them back
    reviews.push_back(r);
  }
  round_facts facts() const { return {&request, reviews, objects, required}; }
};

actor_facts checker() {
  actor_facts a;
  a.roles.output_checker = true;
  return a;
}
actor_facts senior() {
  actor_facts a;
  a.roles.senior_checker = true;
  return a;
}

TEST_CASE("rule 1: only the current round's reviews count") {
  // The round's facts hold only this round's reviews (the service selects by
  // round); after a resubmission the earlier round's two reviews are absent,
  // so one new review does not close the new round.
  round_builder b;
  b.object();
  b.request.review_round = 2;
  b.human(uuid::v7(), review_decision::approved);
  CHECK_FALSE(close_round(b.facts()).has_value());
  b.human(uuid::v7(), review_decision::approved);
  REQUIRE(close_round(b.facts()).has_value());
  CHECK(close_round(b.facts())->to == rs::approved);
}

TEST_CASE("rule 2: a round closes at required_reviews distinct reviewers, one human at least") {
  round_builder b;
  b.object();
  b.human(uuid::v7(), review_decision::approved);
  CHECK_FALSE(close_round(b.facts()).has_value());  // one of two
  b.human(uuid::v7(), review_decision::approved);
  CHECK(close_round(b.facts()).has_value());

  SUBCASE("the agent counts as one reviewer") {
    round_builder a;
    a.object();
    a.agent(review_decision::approved);
    CHECK_FALSE(close_round(a.facts()).has_value());  // no human yet
    a.human(uuid::v7(), review_decision::approved);
    CHECK(close_round(a.facts()).has_value());
  }
  SUBCASE("required_reviews is configurable") {
    round_builder c;
    c.required = 3;
    c.object();
    c.human(uuid::v7(), review_decision::approved);
    c.human(uuid::v7(), review_decision::approved);
    CHECK_FALSE(close_round(c.facts()).has_value());
    c.human(uuid::v7(), review_decision::approved);
    CHECK(close_round(c.facts()).has_value());
  }
}

TEST_CASE("rule 3: a reviewer needs a checker role, is not the owner, reviews a round once") {
  round_builder b;
  b.object();
  const auto input = test::decide(review_decision::approved);
  SUBCASE("an output checker may review") {
    CHECK_NOTHROW(check_human_review(b.facts(), uuid::v7(), checker(), input));
  }
  SUBCASE("a researcher may not") {
    actor_facts r;
    r.roles.researcher = true;
    CHECK(test::thrown_by([&] { check_human_review(b.facts(), uuid::v7(), r, input); }).code() ==
          errc::forbidden);
  }
  SUBCASE("tre_admin alone cannot review") {
    actor_facts a;
    a.tre_admin = true;
    const auto e = test::thrown_by([&] { check_human_review(b.facts(), uuid::v7(), a, input); });
    CHECK(e.code() == errc::forbidden);
    CHECK(std::string(e.what()).find("tre_admin alone") != std::string::npos);
  }
  SUBCASE("the owner may not review, even as a checker") {
    auto a = senior();
    a.is_owner = true;
    CHECK(test::thrown_by([&] { check_human_review(b.facts(), b.owner, a, input); }).code() ==
          errc::forbidden);
  }
  SUBCASE("a second review of the round by the same person is a conflict") {
    const uuid me = uuid::v7();
    b.human(me, review_decision::changes_requested);
    CHECK(test::thrown_by([&] { check_human_review(b.facts(), me, checker(), input); }).code() ==
          errc::conflict);
  }
  SUBCASE("only in HUMAN_REVIEW") {
    b.request.status = rs::submitted;
    CHECK(test::thrown_by([&] {
            check_human_review(b.facts(), uuid::v7(), checker(), input);
          }).code() == errc::invalid_transition);
  }
}

TEST_CASE("rule 4: escalation needs a senior checker") {
  round_builder b;
  b.object();
  b.agent(review_decision::escalated);
  const auto input = test::decide(review_decision::approved);
  CHECK(test::thrown_by([&] {
          check_human_review(b.facts(), uuid::v7(), checker(), input);
        }).code() == errc::forbidden);
  CHECK_NOTHROW(check_human_review(b.facts(), uuid::v7(), senior(), input));
}

TEST_CASE("rule 5: accepted agent findings only after an agent approval") {
  auto input = test::decide(review_decision::approved);
  input.accepted_agent_findings = true;
  round_builder none;
  none.object();
  CHECK(test::thrown_by([&] {
          check_human_review(none.facts(), uuid::v7(), checker(), input);
        }).code() == errc::invalid_argument);
  round_builder rejected;
  rejected.object();
  rejected.agent(review_decision::rejected);
  CHECK(test::thrown_by([&] {
          check_human_review(rejected.facts(), uuid::v7(), checker(), input);
        }).code() == errc::invalid_argument);
  round_builder approved;
  approved.object();
  approved.agent(review_decision::approved);
  CHECK_NOTHROW(check_human_review(approved.facts(), uuid::v7(), checker(), input));
}

TEST_CASE("rule 6: the humans decide the outcome; the agent never vetoes") {
  SUBCASE("any rejection rejects") {
    round_builder b;
    b.object();
    b.human(uuid::v7(), review_decision::approved);
    b.human(uuid::v7(), review_decision::rejected);
    CHECK(close_round(b.facts())->to == rs::rejected);
  }
  SUBCASE("else any request for changes wins") {
    round_builder b;
    b.object();
    b.human(uuid::v7(), review_decision::changes_requested);
    b.human(uuid::v7(), review_decision::approved);
    CHECK(close_round(b.facts())->to == rs::changes_requested);
  }
  SUBCASE("the agent's rejection does not overrule a human approval") {
    round_builder b;
    b.object();
    b.agent(review_decision::rejected);
    b.human(uuid::v7(), review_decision::approved);
    CHECK(close_round(b.facts())->to == rs::approved);
  }
  SUBCASE("nor does its request for changes") {
    round_builder b;
    b.object();
    b.agent(review_decision::changes_requested);
    b.human(uuid::v7(), review_decision::approved);
    CHECK(close_round(b.facts())->to == rs::approved);
  }
}

TEST_CASE("rule 7: per-object decisions name live objects of the request") {
  round_builder b;
  const auto live = b.object();
  const auto old = b.object(object_state::superseded);
  auto input = test::decide(review_decision::changes_requested);
  SUBCASE("unknown object") {
    input.object_decisions = {{uuid::v7(), review_decision::approved, ""}};
    const auto e =
        test::thrown_by([&] { check_human_review(b.facts(), uuid::v7(), checker(), input); });
    CHECK(e.code() == errc::invalid_argument);
    CHECK(std::string(e.what()).starts_with("object_decisions[0].object_id"));
  }
  SUBCASE("decisions on superseded objects are rejected") {
    input.object_decisions = {{old.id, review_decision::approved, ""}};
    const auto e =
        test::thrown_by([&] { check_human_review(b.facts(), uuid::v7(), checker(), input); });
    CHECK(e.code() == errc::invalid_argument);
    CHECK(std::string(e.what()).find("superseded") != std::string::npos);
  }
  SUBCASE("the same object twice") {
    input.object_decisions = {{live.id, review_decision::approved, ""},
                              {live.id, review_decision::rejected, ""}};
    CHECK(test::thrown_by([&] {
            check_human_review(b.facts(), uuid::v7(), checker(), input);
          }).code() == errc::invalid_argument);
  }
  SUBCASE("an approved review may not ask for changes on an object") {
    input.decision = review_decision::approved;
    input.object_decisions = {{live.id, review_decision::changes_requested, ""}};
    CHECK(test::thrown_by([&] {
            check_human_review(b.facts(), uuid::v7(), checker(), input);
          }).code() == errc::invalid_argument);
  }
  SUBCASE("an approved review may not reject every live object") {
    input.decision = review_decision::approved;
    input.object_decisions = {{live.id, review_decision::rejected, ""}};
    CHECK(test::thrown_by([&] {
            check_human_review(b.facts(), uuid::v7(), checker(), input);
          }).code() == errc::invalid_argument);
  }
  SUBCASE("an approved review may reject some objects") {
    const auto second = b.object();
    input.decision = review_decision::approved;
    input.object_decisions = {{second.id, review_decision::rejected, ""}};
    CHECK_NOTHROW(check_human_review(b.facts(), uuid::v7(), checker(), input));
  }
}

TEST_CASE("rule 7: strictest per-object decision wins; undecided objects follow the outcome") {
  round_builder b;
  const auto x = b.object();
  const auto y = b.object();
  const auto z = b.object();
  b.human(uuid::v7(), review_decision::changes_requested,
          {{x.id, review_decision::approved, ""}, {y.id, review_decision::changes_requested, ""}});
  b.human(uuid::v7(), review_decision::rejected,
          {{x.id, review_decision::rejected, ""}, {y.id, review_decision::approved, ""}});
  const auto out = close_round(b.facts());
  REQUIRE(out);
  CHECK(out->to == rs::rejected);
  std::map<uuid, object_state> got(out->object_changes.begin(), out->object_changes.end());
  CHECK(got.at(x.id) == object_state::rejected);
  CHECK(got.at(y.id) == object_state::changes_requested);
  CHECK(got.count(z.id) == 0);  // undecided and not approved: stays PENDING

  SUBCASE("undecided PENDING objects become APPROVED when the outcome is APPROVED") {
    round_builder a;
    const auto p = a.object();
    const auto q = a.object();
    const auto already = a.object(object_state::rejected);
    a.human(uuid::v7(), review_decision::approved, {{q.id, review_decision::rejected, ""}});
    a.human(uuid::v7(), review_decision::approved);
    const auto o = close_round(a.facts());
    std::map<uuid, object_state> m(o->object_changes.begin(), o->object_changes.end());
    CHECK(m.at(p.id) == object_state::approved);
    CHECK(m.at(q.id) == object_state::rejected);
    CHECK(m.count(already.id) == 0);  // only PENDING objects follow the outcome
  }
}

TEST_CASE("rule 8: per-object feedback is carried in the review's findings") {
  const uuid id = uuid::v7();
  const auto parsed = parse_object_decisions(fmt::format(
      R"([{{"object_id":"{}","decision":"changes_requested","feedback":"round the counts"}}])",
      id.str()));
  REQUIRE(parsed.size() == 1);
  CHECK(parsed[0].object_id == id);
  CHECK(parsed[0].decision == review_decision::changes_requested);
  CHECK(parsed[0].feedback == "round the counts");
  CHECK(parse_object_decisions("not json").empty());
}

TEST_CASE("rule 2 and 6: a revision cycle ends APPROVED") {
  // Round 1 closes with changes requested; round 2 holds only its own
  // reviews and closes APPROVED.
  round_builder b;
  const auto obj = b.object();
  b.human(uuid::v7(), review_decision::changes_requested,
          {{obj.id, review_decision::changes_requested, ""}});
  b.human(uuid::v7(), review_decision::approved);
  CHECK(close_round(b.facts())->to == rs::changes_requested);
  round_builder next;
  next.request.review_round = 2;
  next.object(object_state::superseded);
  next.object();  // the replacement
  next.human(uuid::v7(), review_decision::approved);
  next.human(uuid::v7(), review_decision::approved);
  CHECK(close_round(next.facts())->to == rs::approved);
}

TEST_CASE("objects: SUPERSEDED is final and PENDING is never re-entered") {
  CHECK(object_transition_allowed(object_state::pending, object_state::approved));
  CHECK(object_transition_allowed(object_state::rejected, object_state::superseded));
  CHECK(object_transition_allowed(object_state::approved, object_state::rejected));
  CHECK_FALSE(object_transition_allowed(object_state::superseded, object_state::pending));
  CHECK_FALSE(object_transition_allowed(object_state::superseded, object_state::approved));
  CHECK_FALSE(object_transition_allowed(object_state::approved, object_state::pending));
  CHECK_FALSE(object_transition_allowed(object_state::pending, object_state::pending));
}

TEST_CASE("parties: an auditor sees every request and acts as no party") {
  actor_facts auditor;
  auditor.auditor = true;
  CHECK(may_see(auditor));
  auditor.tre_admin = true;
  auditor.is_owner = true;
  auditor.roles.researcher = true;
  auditor.roles.senior_checker = true;
  for (auto who :
       {party::contributor, party::owner_or_admin, party::agent, party::system, party::admin})
    for (auto d : {direction::egress, direction::ingress}) CHECK_FALSE(acts_as(who, auditor, d));
  CHECK(download_refusal(auditor).has_value());
  actor a;
  a.auditor = true;
  a.tre_admin = true;
  CHECK(a.oversees());
  CHECK_FALSE(a.acting_admin());
  CHECK_FALSE(actor::of_agent(agent_credential::builtin()).oversees());
}

}  // namespace
}  // namespace trevor
