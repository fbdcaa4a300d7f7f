// Independent review, revoking a release, the reasons of reviews and
// withdrawals, and who downloaded a package, over HTTP on the engine under
// test.
#include <algorithm>
#include <filesystem>

#include <boost/json.hpp>

#include "harness.hpp"

namespace trevord::test {

namespace json = boost::json;
using world = project_world;

namespace {

constexpr const char* auditor = "dev:aud1:auditor";

std::string path_of(const std::string& url) {
  const auto at = url.find("/requests/");
  REQUIRE(at != std::string::npos);
  return url.substr(at);
}

bool lists(const json::value& reviews, const std::string& id) {
  const auto& a = reviews.as_array();
  return std::any_of(a.begin(), a.end(), [&](const json::value& r) { return str(r, "id") == id; });
}

/// The payload of the review.created event of review `id` in a request's
/// audit trail as `who` reads it.
json::object created_event(daemon& d, const std::string& request, const std::string& who,
                           const std::string& id) {
  const auto trail = d.get("/requests/" + request + "/audit", who);
  REQUIRE(trail.status == 200);
  const auto events = trail.json();
  for (const auto& e : events.as_array())
    if (str(e, "event_type") == "review.created" && str(e.at("payload"), "review_id") == id)
      return e.at("payload").as_object();
  FAIL("no review.created for ", id);
  return {};
}

/// Whether `reviewer`'s feedback is in the object's metadata as `who` reads it.
bool sees_feedback(daemon& d, const std::string& request, const std::string& object,
                   const std::string& who, const std::string& reviewer) {
  const auto m = d.get("/requests/" + request + "/objects/" + object + "/metadata", who);
  REQUIRE(m.status == 200);
  const auto metadata = m.json();
  for (const auto& f : metadata.at("checker_feedback").as_array())
    if (str(f, "reviewer_id") == reviewer) return true;
  return false;
}

void three_reviewers(config& c) {
  c.required_reviews = 3;
}

/// A released egress request of r1, approved by c1 and c2; its release record.
json::value released(daemon& d, world& w, std::string& id) {
  id = w.draft("Mortality");
  w.upload(id, "age,rate\n40,15\n", "rates.csv");
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  for (const char* who : {world::c1, world::c2})
    REQUIRE(d.post("/requests/" + id + "/reviews", who,
                   json::object{{"decision", "approved"}, {"summary", "ok"}})
                .status == 201);
  auto rel = d.post("/requests/" + id + "/release", world::admin);
  REQUIRE(rel.status == 202);
  return rel.json();
}

}  // namespace

TEST_CASE("independent review over HTTP: B sees nothing of A's review until B reviews") {
  daemon d(three_reviewers);
  world w(d);
  const auto id = w.submitted();
  const auto oid = str(d.get("/requests/" + id + "/objects", world::r1).json().as_array()[0], "id");
  auto a = d.post("/requests/" + id + "/reviews", world::c1,
                  json::object{{"decision", "changes_requested"},
                               {"summary", "round the counts"},
                               {"object_decisions",
                                json::array{json::object{{"object_id", oid},
                                                         {"decision", "changes_requested"},
                                                         {"feedback", "cells under 10"}}}}});
  REQUIRE(a.status == 201);
  const auto rid = str(a.json(), "id");
  const auto c1_id = w.user_ids.at("c1");

  for (const char* who : {world::c2, world::s1}) {
    CAPTURE(who);
    const auto list = d.get("/requests/" + id + "/reviews", who);
    REQUIRE(list.status == 200);
    CHECK(list.json().as_array().empty());
    const auto one = d.get("/requests/" + id + "/reviews/" + rid, who);
    CHECK(one.status == 404);
    CHECK(one.detail() == "review " + rid + " not found in request " + id);
    const auto event = created_event(d, id, who, rid);
    CHECK_FALSE(event.contains("decision"));
    CHECK_FALSE(event.contains("object_decisions"));
    CHECK(event.at("redacted").as_array().size() == 3);
    CHECK(str(event, "reviewer_type") == "human");
    CHECK_FALSE(sees_feedback(d, id, oid, who, c1_id));
  }
  for (const char* who : {world::c1, world::admin, auditor, world::r1}) {
    CAPTURE(who);
    CHECK(lists(d.get("/requests/" + id + "/reviews", who).json(), rid));
    const auto one = d.get("/requests/" + id + "/reviews/" + rid, who);
    REQUIRE(one.status == 200);
    CHECK(str(one.json(), "decision") == "changes_requested");
    CHECK(str(created_event(d, id, who, rid), "decision") == "changes_requested");
    CHECK(sees_feedback(d, id, oid, who, c1_id));
  }

  // B reviews: the round is still open (three reviewers) and B sees both.
  auto b = d.post("/requests/" + id + "/reviews", world::c2,
                  json::object{{"decision", "approved"}, {"summary", "fine"}});
  REQUIRE(b.status == 201);
  REQUIRE(str(d.get("/requests/" + id, world::admin).json(), "status") == "HUMAN_REVIEW");
  const auto both = d.get("/requests/" + id + "/reviews", world::c2).json();
  CHECK(both.as_array().size() == 2);
  CHECK(lists(both, rid));
  CHECK(d.get("/requests/" + id + "/reviews/" + rid, world::c2).status == 200);
  CHECK(str(created_event(d, id, world::c2, rid), "decision") == "changes_requested");
  CHECK(sees_feedback(d, id, oid, world::c2, c1_id));
  // The senior checker, who has not reviewed, still sees neither, and the
  // dashboard's checker figures leave the open round out for them.
  CHECK(d.get("/requests/" + id + "/reviews", world::s1).json().as_array().empty());
  CHECK(d.get("/admin/checkers", world::s1).json().at("items").as_array().empty());
  CHECK(d.get("/admin/checkers", world::admin).json().at("items").as_array().size() == 2);

  // The round closes: everyone sees everything.
  REQUIRE(d.post("/requests/" + id + "/reviews", world::s1,
                 json::object{{"decision", "approved"}, {"summary", "fine"}})
              .status == 201);
  CHECK(d.get("/requests/" + id + "/reviews", world::c2).json().as_array().size() == 3);
  CHECK(d.get("/admin/checkers", world::s1).json().at("items").as_array().size() == 3);
}

TEST_CASE("independent review switched off: every member sees every review at once") {
  daemon d([](config& c) {
    c.required_reviews = 3;
    c.independent_review = false;
  });
  world w(d);
  const auto id = w.submitted();
  auto a = d.post("/requests/" + id + "/reviews", world::c1,
                  json::object{{"decision", "approved"}, {"summary", "ok"}});
  REQUIRE(a.status == 201);
  const auto rid = str(a.json(), "id");
  CHECK(lists(d.get("/requests/" + id + "/reviews", world::c2).json(), rid));
  CHECK(d.get("/requests/" + id + "/reviews/" + rid, world::c2).status == 200);
  CHECK(str(created_event(d, id, world::c2, rid), "decision") == "approved");
}

TEST_CASE("TREVOR_INDEPENDENT_REVIEW: on by default, a switch") {
  CHECK(config_from({}).independent_review);
  CHECK_FALSE(config_from({{"TREVOR_INDEPENDENT_REVIEW", "false"}}).independent_review);
  CHECK(config_from({{"TREVOR_INDEPENDENT_REVIEW", "on"}}).independent_review);
  CHECK(
      config_refusal({{"TREVOR_INDEPENDENT_REVIEW", "maybe"}}).find("TREVOR_INDEPENDENT_REVIEW") !=
      std::string::npos);
}

TEST_CASE("revoke over HTTP: the link refused at once, the state, the event and the notices") {
  daemon d;
  world w(d);
  std::string id;
  const auto record = released(d, w, id);
  const auto link = path_of(str(record, "download_url"));
  REQUIRE(d.get(link, "").status == 200);
  const auto target = "/requests/" + id + "/revoke";

  auto r = d.post(target, world::r1, json::object{{"reason", "leak"}});
  CHECK(r.status == 403);
  CHECK(r.detail() == "revoke: only tre_admin may do this");
  CHECK(d.post(target, world::c1, json::object{{"reason", "leak"}}).status == 403);
  CHECK(d.post(target, auditor, json::object{{"reason", "leak"}}).status == 403);
  r = d.post(target, world::admin, json::object{});
  CHECK(r.status == 422);
  CHECK(r.detail().starts_with("reason"));
  r = d.post(target, world::admin, json::object{{"reason", " \n "}});
  CHECK(r.status == 422);
  CHECK(r.detail() == "reason: must not be empty");
  r = d.post(target, world::admin, json::object{{"reason", 7}});
  CHECK(r.status == 422);
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "RELEASED");
  CHECK(d.get(link, "").status == 200);

  r = d.post(target, world::admin, json::object{{"reason", "a cell of 3 in table 2"}});
  REQUIRE(r.status == 200);
  CHECK(str(r.json(), "status") == "REVOKED");
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "REVOKED");
  // The link is refused at once; the package is kept.
  const auto refused = d.get(link, "");
  CHECK(refused.status == 403);
  CHECK(refused.detail().find("revoked") != std::string::npos);
  CHECK(d.get(link, world::r1).status == 403);
  const auto kept = d.get("/requests/" + id + "/release", world::admin);
  REQUIRE(kept.status == 200);
  CHECK(std::filesystem::exists(std::filesystem::path(d.cfg().storage_dir) /
                                str(kept.json(), "crate_storage_key")));
  // The event, with its reason.
  const auto trail = d.get("/requests/" + id + "/audit", world::r1).json().as_array();
  const auto& last = trail.back();
  CHECK(str(last, "event_type") == "request.revoked");
  CHECK(str(last.at("payload"), "reason") == "a cell of 3 in table 2");
  CHECK(str(last.at("payload"), "from") == "RELEASED");
  CHECK(str(last.at("payload"), "to") == "REVOKED");
  // The owner and the round's checkers are told.
  for (const char* who : {world::r1, world::c1, world::c2}) {
    CAPTURE(who);
    const auto notes = d.get("/notifications?limit=100", who).json().as_array();
    CHECK(std::count_if(notes.begin(), notes.end(), [&](const json::value& n) {
            return str(n, "event_type") == "request.revoked" && str(n, "request_id") == id;
          }) == 1);
  }
  const auto s1_notes = d.get("/notifications?limit=100", world::s1).json().as_array();
  CHECK(std::none_of(s1_notes.begin(), s1_notes.end(), [](const json::value& n) {
    return str(n, "event_type") == "request.revoked";
  }));
  // Once revoked: no second revocation, no fresh link.
  r = d.post(target, world::admin, json::object{{"reason", "again"}});
  CHECK(r.status == 409);
  CHECK(r.detail() == "request is REVOKED; revoke is allowed only in RELEASED");
  CHECK(d.post("/requests/" + id + "/release/link", world::admin).status == 409);
}

TEST_CASE("revoke over HTTP: 409 for ingress requests and for requests not RELEASED") {
  daemon d;
  world w(d);
  const auto approved = w.submitted();
  for (const char* who : {world::c1, world::c2})
    REQUIRE(d.post("/requests/" + approved + "/reviews", who,
                   json::object{{"decision", "approved"}, {"summary", "ok"}})
                .status == 201);
  auto r = d.post("/requests/" + approved + "/revoke", world::admin,
                  json::object{{"reason", "too early"}});
  CHECK(r.status == 409);
  CHECK(r.detail() == "request is APPROVED; revoke is allowed only in RELEASED");
  const auto ingress = d.post(
      "/requests", world::admin,
      json::object{{"project_id", w.project_id}, {"direction", "ingress"}, {"title", "Lookup"}});
  REQUIRE(ingress.status == 201);
  r = d.post("/requests/" + str(ingress.json(), "id") + "/revoke", world::admin,
             json::object{{"reason", "wrong codes"}});
  CHECK(r.status == 409);
  CHECK(r.detail() == "revoke does not apply to ingress requests");
  CHECK(d.database().count(
            "SELECT count(*) FROM audit_events WHERE event_type = 'request.revoked'") == 0);
}

TEST_CASE("reasons over HTTP: 422 without a summary for changes_requested and rejected") {
  daemon d;
  world w(d);
  const auto id = w.submitted();
  for (const char* decision : {"changes_requested", "rejected"}) {
    CAPTURE(decision);
    auto r =
        d.post("/requests/" + id + "/reviews", world::c1, json::object{{"decision", decision}});
    CHECK(r.status == 422);
    CHECK(
        r.detail().starts_with(std::string("summary: required when the decision is ") + decision));
    r = d.post("/requests/" + id + "/reviews", world::c1,
               json::object{{"decision", decision}, {"summary", "   "}});
    CHECK(r.status == 422);
    CHECK(r.detail().starts_with("summary:"));
  }
  CHECK(d.database().count("SELECT count(*) FROM reviews") == 0);
  CHECK(d.post("/requests/" + id + "/reviews", world::c1, json::object{{"decision", "approved"}})
            .status == 201);
  CHECK(d.post("/requests/" + id + "/reviews", world::c2,
               json::object{{"decision", "rejected"}, {"summary", "identifiable"}})
            .status == 201);
}

TEST_CASE("reasons over HTTP: withdraw takes an optional reason, recorded in its event") {
  daemon d;
  world w(d);
  const auto a = w.draft("A");
  const auto b = w.draft("B");
  auto r = d.post("/requests/" + a + "/withdraw", world::r1,
                  json::object{{"reason", "the wrong project"}});
  REQUIRE(r.status == 200);
  CHECK(str(r.json(), "status") == "WITHDRAWN");
  REQUIRE(d.post("/requests/" + b + "/withdraw", world::r1).status == 200);
  auto last = [&](const std::string& id) {
    return d.get("/requests/" + id + "/audit", world::r1).json().as_array().back();
  };
  CHECK(str(last(a), "event_type") == "request.withdrawn");
  CHECK(str(last(a).at("payload"), "reason") == "the wrong project");
  CHECK_FALSE(last(b).at("payload").as_object().contains("reason"));
  const auto c = w.draft("C");
  r = d.post("/requests/" + c + "/withdraw", world::r1, json::object{{"reason", 1}});
  CHECK(r.status == 422);
  CHECK(r.detail().starts_with("reason"));
  r = d.post("/requests/" + c + "/withdraw", world::r1, json::object{{"why", "x"}});
  CHECK(r.status == 422);
  CHECK(str(d.get("/requests/" + c, world::r1).json(), "status") == "DRAFT");
}

TEST_CASE("who downloaded: the link with a bearer token is audited as that user") {
  daemon d;
  world w(d);
  std::string id;
  const auto record = released(d, w, id);
  const auto link = path_of(str(record, "download_url"));
  auto last = [&] {
    return d.get("/requests/" + id + "/audit", world::admin).json().as_array().back();
  };
  REQUIRE(d.get(link, world::r1).status == 200);
  CHECK(str(last(), "event_type") == "release.downloaded");
  CHECK(str(last(), "actor_id") == w.user_ids.at("r1"));
  REQUIRE(d.get(link, "").status == 200);
  CHECK(str(last(), "event_type") == "release.downloaded");
  CHECK(str(last(), "actor_id") == "link");
  // An auditor downloads nothing, even with the link.
  REQUIRE(d.get("/users/me", auditor).status == 200);  // the user row exists
  const auto events = d.database().count("SELECT count(*) FROM audit_events");
  CHECK(d.get(link, auditor).status == 403);
  CHECK(d.database().count("SELECT count(*) FROM audit_events") == events);
}

}  // namespace trevord::test
