// The external agent (TREVOR_AGENT_REVIEW=external) over HTTP, on the engine
// under test: its service account finds the submitted requests, reads them,
// downloads what it must check, records its review, and may do nothing else.
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "harness.hpp"

namespace trevord::test {

namespace json = boost::json;
using world = project_world;

namespace {

/// The agent's service account under the development sign-in: realm role
/// trevor_agent, named "sdc-bot".
constexpr const char* agent = "dev:sdc-bot:trevor_agent";

}  // namespace

TEST_CASE("external agent: lists SUBMITTED, reads, downloads, reviews; then the humans decide") {
  daemon d([](config& c) { c.agent_review = true; });
  world w(d);
  const auto id = w.draft("Agent checks this");
  const std::string content = "age,count\n40-49,12\n50-59,15\n";
  const auto oid = str(w.upload(id, content, "counts.csv"), "id");
  const auto other = w.draft("Still a draft");
  REQUIRE(str(d.post("/requests/" + id + "/submit", world::r1).json(), "status") == "SUBMITTED");

  // Who it is.
  const auto me = d.get("/users/me", agent);
  REQUIRE(me.status == 200);
  CHECK(me.json().at("agent").as_bool());
  CHECK(me.json().at("id").is_null());
  CHECK(str(me.json(), "username") == "sdc-bot");
  CHECK(me.json().at("memberships").as_array().empty());
  CHECK_FALSE(d.get("/users/me", world::r1).json().at("agent").as_bool());

  // The work: every project's SUBMITTED requests (it is a member of none).
  const auto waiting = d.get("/requests?status=SUBMITTED", agent);
  REQUIRE(waiting.status == 200);
  REQUIRE(waiting.json().as_array().size() == 1);
  CHECK(str(waiting.json().as_array()[0], "id") == id);
  CHECK(d.get("/requests", agent).json().as_array().size() == 2);

  // What it reads.
  const auto detail = d.get("/requests/" + id, agent);
  REQUIRE(detail.status == 200);
  CHECK(detail.json().at("objects").as_array().size() == 1);
  CHECK(d.get("/requests/" + other, agent).status == 200);
  const std::string object = "/requests/" + id + "/objects/" + oid;
  CHECK(d.get("/requests/" + id + "/objects", agent).status == 200);
  CHECK(str(d.get(object, agent).json(), "filename") == "counts.csv");
  CHECK(d.get(object + "/versions", agent).json().as_array().size() == 1);
  CHECK(d.get(object + "/metadata", agent).status == 200);
  const auto bytes = d.get(object + "/content", agent);
  REQUIRE(bytes.status == 200);
  CHECK(bytes.body == content);
  const auto trail = d.get("/requests/" + id + "/audit", world::admin).json();
  const auto& downloaded = trail.as_array().back();
  CHECK(str(downloaded, "event_type") == "object.downloaded");
  CHECK(str(downloaded, "actor_id") == "agent:sdc-bot");

  // Its review, then one human closes the round (the agent is one reviewer).
  const auto review = d.post(
      "/requests/" + id + "/agent-review", agent,
      json::object{
          {"decision", "approved"}, {"summary", "all cells >= 10"}, {"findings", json::array{}}});
  REQUIRE_MESSAGE(review.status == 201, review.body);
  CHECK(str(review.json(), "reviewer_type") == "agent");
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "HUMAN_REVIEW");
  std::vector<std::string> actors;
  const auto after = d.get("/requests/" + id + "/audit", world::admin).json();
  for (const auto& e : after.as_array())
    if (str(e, "event_type") == "review.created") actors.push_back(str(e, "actor_id"));
  CHECK(actors == std::vector<std::string>{"agent:sdc-bot"});
  REQUIRE(d.post("/requests/" + id + "/reviews", world::c1, json::object{{"decision", "approved"}})
              .status == 201);
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "APPROVED");
}

TEST_CASE("external agent: everything else is refused with 403, and nothing is written") {
  daemon d([](config& c) { c.agent_review = true; });
  world w(d);
  const auto id = w.draft();
  const auto oid = str(w.upload(id, "a,b\n1,2\n"), "id");
  const auto object = "/requests/" + id + "/objects/" + oid;
  const auto events_before = d.get("/requests/" + id + "/audit", world::admin).json();

  struct attempt {
    const char* method;
    std::string target;
    std::string body;
  };
  const std::vector<attempt> refused{
      {"POST", "/requests",
       json::serialize(
           json::object{{"project_id", w.project_id}, {"direction", "egress"}, {"title", "t"}})},
      {"POST", "/requests/" + id + "/submit", ""},
      {"POST", "/requests/" + id + "/withdraw", ""},
      {"PATCH", object + "/metadata", R"({"title":"x"})"},
      {"POST", "/requests/" + id + "/reviews", R"({"decision":"approved"})"},
      {"GET", "/requests/" + id + "/reviews", ""},
      {"GET", "/requests/" + id + "/audit", ""},
      {"GET", "/users", ""},
      {"GET", "/projects", ""},
      {"GET", "/notifications", ""},
      {"GET", "/admin/metrics", ""},
      {"GET", "/admin/requests", ""},
      {"GET", "/admin/audit", ""},
      {"POST", "/requests/" + id + "/release", ""},
  };
  for (const auto& a : refused) {
    CAPTURE(a.method);
    CAPTURE(a.target);
    const auto r = d.call(
        {a.method, a.target, agent, a.body, a.body.empty() ? std::string() : "application/json"});
    CHECK(r.status == 403);
    CHECK(r.detail().find("agent") != std::string::npos);
  }
  const auto upload =
      d.call({"POST", "/requests/" + id + "/objects?filename=x.csv&output_type=tabular", agent,
              "a,b", "application/octet-stream"});
  CHECK(upload.status == 403);
  CHECK(d.get("/requests/" + id + "/audit", world::admin).json() == events_before);
  CHECK(d.get("/requests/" + id + "/objects", world::r1).json().as_array().size() == 1);

  // And a person may not record the agent's review.
  const auto person = d.post("/requests/" + id + "/agent-review", world::c1,
                             json::object{{"decision", "approved"}});
  CHECK(person.status == 403);
  CHECK(person.detail().find("trevor_agent") != std::string::npos);
}

}  // namespace trevord::test
