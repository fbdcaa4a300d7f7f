// Audit completeness: a full scenario's exact trail, and every request's
// status and every object's state rebuilt from the audit trail alone.
#include <map>

#include <doctest/doctest.h>

#include "world.hpp"

namespace trevor {
namespace {

using test::decide;
using test::world;

struct step {
  std::string type;
  std::string actor;
  std::string from, to;  // empty when the event carries no status change
  bool operator==(const step&) const = default;
};

std::vector<step> steps_of(const std::vector<audit_event>& trail,
                           const std::map<std::string, std::string>& names) {
  std::vector<step> out;
  for (const auto& e : trail) {
    const auto p = test::payload_of(e);
    auto text = [&](const char* k) -> std::string {
      const auto* v = p.if_contains(k);
      return v && v->is_string() ? std::string(v->as_string()) : "";
    };
    const auto n = names.find(e.actor);
    out.push_back({e.event_type, n == names.end() ? e.actor : n->second, text("from"), text("to")});
  }
  return out;
}

TEST_CASE(
    "scenario: upload two, submit, one approves, one asks for changes, replace, resubmit, "
    "both approve — the exact audit trail") {
  world w;
  const std::map<std::string, std::string> names = {
      {w.r1.user_id.str(), "rita"}, {w.c1.user_id.str(), "chen"}, {w.c2.user_id.str(), "carla"}};
  const auto r = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "Paper 1", ""});
  const auto t1 = w.upload(w.r1, r.id, "table1.csv", "a\n1");
  const auto t2 = w.upload(w.r1, r.id, "table2.csv", "b\n2");
  w.flow.requests.submit(w.r1, r.id);
  w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
  auto ask = decide(review_decision::changes_requested);
  ask.object_decisions = {{t1.id, review_decision::changes_requested, "suppress small cells"}};
  w.flow.reviews.record(w.c2, r.id, ask);
  new_object v2;
  v2.filename = "table1.csv";
  const auto t1v2 = w.flow.objects.replace(w.r1, r.id, t1.id, v2, test::bytes_of("a\n10"));
  w.flow.requests.resubmit(w.r1, r.id);
  w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved));
  w.flow.reviews.record(w.c2, r.id, decide(review_decision::approved));

  const std::vector<step> expected = {
      {"request.created", "rita", "", "DRAFT"},
      {"object.uploaded", "rita", "", ""},
      {"object.uploaded", "rita", "", ""},
      {"request.submitted", "rita", "DRAFT", "HUMAN_REVIEW"},
      {"review.created", "chen", "", ""},
      {"review.created", "carla", "", ""},
      {"request.changes_requested", "system", "HUMAN_REVIEW", "CHANGES_REQUESTED"},
      {"object.state_changed", "system", "PENDING", "CHANGES_REQUESTED"},
      {"object.replaced", "rita", "", ""},
      {"object.state_changed", "rita", "CHANGES_REQUESTED", "SUPERSEDED"},
      {"request.resubmitted", "rita", "CHANGES_REQUESTED", "HUMAN_REVIEW"},
      {"review.created", "chen", "", ""},
      {"review.created", "carla", "", ""},
      {"request.approved", "system", "HUMAN_REVIEW", "APPROVED"},
      {"object.state_changed", "system", "PENDING", "APPROVED"},
      {"object.state_changed", "system", "PENDING", "APPROVED"},
  };
  const auto trail = w.trail(r.id);
  CHECK(steps_of(trail, names) == expected);
  // Which objects the object events name.
  auto object_of = [&](std::size_t i) {
    return uuid::parse(std::string(test::payload_of(trail.at(i)).at("object_id").as_string()));
  };
  CHECK(object_of(1) == t1.id);
  CHECK(object_of(2) == t2.id);
  CHECK(object_of(7) == t1.id);
  CHECK(object_of(8) == t1v2.id);
  CHECK(object_of(9) == t1.id);
  CHECK(object_of(14) == t2.id);
  CHECK(object_of(15) == t1v2.id);
  // Rounds: the resubmission opened round 2, whose reviews closed it.
  CHECK(test::payload_of(trail[6]).at("round") == 1);
  CHECK(test::payload_of(trail[10]).at("round") == 2);
  CHECK(test::payload_of(trail[13]).at("round") == 2);
  // seq strictly increases along the trail.
  for (std::size_t i = 1; i < trail.size(); ++i) CHECK(trail[i].seq > trail[i - 1].seq);
}

TEST_CASE("replay: every request's status and object's state rebuilt from the audit trail") {
  world w({.agent_review = true});
  // A spread of histories: approved after a revision, rejected, withdrawn,
  // an agent escalation, an ingress request with a slot, a draft.
  const auto revised = w.submitted(2);
  w.flow.reviews.record_agent_review(w.agent, revised.id, {review_decision::approved, "", "[]"});
  const auto objs = w.flow.objects.list(w.r1, revised.id);
  auto ask = decide(review_decision::changes_requested);
  ask.object_decisions = {{objs[0].id, review_decision::rejected, "no"}};
  w.flow.reviews.record(w.c1, revised.id, ask);
  new_object v2;
  v2.filename = "again.csv";
  w.flow.objects.replace(w.r1, revised.id, objs[0].id, v2, test::bytes_of("x"));
  w.flow.requests.resubmit(w.r1, revised.id);
  w.flow.reviews.start_agent_review(w.agent, revised.id);
  w.flow.reviews.record_agent_review(w.agent, revised.id, {review_decision::escalated, "", "[]"});
  w.flow.reviews.record(w.s1, revised.id, decide(review_decision::approved));

  const auto rejected = w.submitted();
  w.flow.reviews.record_agent_review(w.agent, rejected.id, {review_decision::approved, "", "[]"});
  w.flow.reviews.record(w.c2, rejected.id, decide(review_decision::rejected));

  const auto withdrawn = w.draft();
  w.flow.requests.withdraw(w.r1, withdrawn.id);

  const auto ingress = w.flow.requests.create(w.s1, {w.proj.id, direction::ingress, "In", ""});
  new_object slot;
  slot.filename = "ref.csv";
  const auto s = w.flow.objects.add_slot(w.s1, ingress.id, slot);
  w.flow.objects.confirm_upload(w.s1, ingress.id, s.id, test::bytes_of("ref"));
  w.flow.requests.submit(w.s1, ingress.id);

  w.draft(3);

  // Replay, in seq order, over the whole trail.
  audit_log log(w.fdb.db());
  std::map<std::string, std::string> status, state;
  audit_query q;
  q.order = audit_order::oldest_first;
  q.limit = 50;  // several pages: the cursor is part of what is replayed
  for (;;) {
    const auto page = log.query(q);
    for (const auto& e : page.items) {
      const auto p = test::payload_of(e);
      if (e.event_type.starts_with("request.") && p.contains("to"))
        status[e.request_id->str()] = std::string(p.at("to").as_string());
      else if (e.event_type == "object.uploaded" || e.event_type == "object.slot_created" ||
               e.event_type == "object.replaced")
        state[std::string(p.at("object_id").as_string())] = std::string(p.at("state").as_string());
      else if (e.event_type == "object.state_changed")
        state[std::string(p.at("object_id").as_string())] = std::string(p.at("to").as_string());
    }
    if (page.next_cursor.empty()) break;
    q.cursor = page.next_cursor;
  }

  std::map<std::string, std::string> table_status, table_state;
  for (const auto& r : w.flow.requests.list(w.admin))
    table_status[r.id.str()] = to_string(r.status);
  for (const auto& [id, _] : table_status)
    for (const auto& o : w.flow.objects.list(w.admin, *uuid::parse(id), true))
      table_state[o.id.str()] = to_string(o.state);
  CHECK(status == table_status);
  CHECK(state == table_state);
  CHECK(table_status.size() == 5);
  CHECK(table_state.size() == 9);
  CHECK(table_status[revised.id.str()] == "APPROVED");
  CHECK(table_status[rejected.id.str()] == "REJECTED");
  CHECK(table_status[withdrawn.id.str()] == "WITHDRAWN");
  CHECK(table_status[ingress.id.str()] == "SUBMITTED");
  // The dashboard's facts (migration 0010), kept by triggers along the way,
  // are what the trail gives.
  CHECK(test::facts_disagreeing_with_trail(w.fdb) == 0);
  CHECK(w.rows("request_stays") >= 10);  // not vacuous
}

}  // namespace
}  // namespace trevor
