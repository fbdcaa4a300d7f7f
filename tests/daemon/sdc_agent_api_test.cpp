// The built-in agent (TREVOR_AGENT_REVIEW=builtin) through trevord, on the
// engine under test: a submitted request is reviewed in the background within
// seconds, with findings that name the failing rule and cells; escalations
// go to senior checkers; the preview records nothing; the policy travels
// with every package and supporting objects never do; several daemons on one
// database review each request exactly once.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "harness.hpp"
#include "trevor/sdc.hpp"

namespace trevord::test {

namespace json = boost::json;
using world = project_world;

namespace {

using clock = std::chrono::steady_clock;

void builtin(config& c) {
  c.agent_review = true;
  c.builtin_agent = true;
}

/// Uploads `content` as `filename` with the fields the agent reads.
json::value upload(daemon& d, const std::string& request_id, const std::string& filename,
                   const std::string& content, const std::string& statbarn = "Frequencies",
                   bool supporting = false) {
  const std::string boundary = "sdcB0undary";
  std::vector<std::pair<std::string, std::string>> fields{
      {"output_type", "tabular"},
      {"statbarn", statbarn},
      {"researcher_justification", "Counts by sex for the paper's table 1."}};
  if (supporting) fields.emplace_back("supporting", "true");
  auto r = d.call({"POST", "/requests/" + request_id + "/objects", world::r1,
                   multipart(boundary, fields, filename, content),
                   "multipart/form-data; boundary=" + boundary});
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return r.json();
}

/// Polls the request until it leaves SUBMITTED and AGENT_REVIEW; returns its
/// status (fails the test after `seconds`).
std::string wait_for_agent(daemon& d, const std::string& id, double seconds = 10) {
  const auto deadline = clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    const auto status = str(d.get("/requests/" + id, world::admin).json(), "status");
    if (status != "SUBMITTED" && status != "AGENT_REVIEW") return status;
    if (clock::now() > deadline) FAIL("request " << id << " still " << status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// The agent's review of the request's current round.
json::value agent_review_of(daemon& d, const std::string& id) {
  const auto reviews = d.get("/requests/" + id + "/reviews", world::c1);
  REQUIRE_MESSAGE(reviews.status == 200, reviews.body);
  const auto all = reviews.json();
  for (const auto& r : all.as_array())
    if (str(r, "reviewer_type") == "agent") return r;
  FAIL("no agent review: " << reviews.body);
  return {};
}

/// The check named `name` among an object's findings.
const json::object* check_named(const json::value& object, std::string_view name) {
  for (const auto& c : object.at("checks").as_array())
    if (c.at("check").as_string() == name) return &c.as_object();
  return nullptr;
}

/// Every table of the database with its row count, but the audit tree's
/// (audit_leaves, audit_tree_nodes, audit_checkpoints): the daemon's sealer
/// adds to those on its own schedule, from events already recorded.
std::map<std::string, long long> row_counts(daemon& d) {
  auto& db = d.database();
  const auto names =
      trevor::test::on_postgres()
          ? db.text(
                "SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE "
                "table_schema = '" +
                db.schema() + "' AND table_type = 'BASE TABLE'")
          : db.text(
                "SELECT group_concat(name, ',') FROM sqlite_master WHERE type = 'table' AND name "
                "NOT LIKE 'sqlite_%'");
  std::map<std::string, long long> out;
  std::stringstream in(names);
  std::string t;
  while (std::getline(in, t, ','))
    if (!t.empty() && (t == "audit_events" || t.rfind("audit_", 0) != 0))
      out[t] = db.count("SELECT count(*) FROM " + t);
  return out;
}

/// The value of an unlabelled or labelled sample in Prometheus text.
double sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

const std::string small_cell = "sex,count\nfemale,3\nmale,25\n";
const std::string safe_table = "sex,count\nfemale,30\nmale,25\n";

}  // namespace

TEST_CASE("builtin agent: submit → HUMAN_REVIEW within seconds, the failing rule and cell named") {
  daemon d(builtin);
  world w(d);
  const auto id = w.draft("Small cell");
  upload(d, id, "table1.csv", small_cell);
  const auto submitted_at = clock::now();
  const auto sub = d.post("/requests/" + id + "/submit", world::r1);
  REQUIRE(sub.status == 200);
  CHECK(str(sub.json(), "status") == "SUBMITTED");  // the answer does not wait for the agent
  REQUIRE(wait_for_agent(d, id) == "HUMAN_REVIEW");
  const auto took = std::chrono::duration<double>(clock::now() - submitted_at).count();
  CHECK_MESSAGE(took < 3.0, "reviewed after " << took << " s");
  MESSAGE("submit to HUMAN_REVIEW: " << took << " s");

  const auto review = agent_review_of(d, id);
  CHECK(str(review, "decision") == "escalated");  // a critical fail
  CHECK(str(review, "summary").find("minimum_threshold") != std::string::npos);
  const auto& findings = review.at("findings");
  CHECK(findings.at("policy").at("id").as_string().size() == 64);
  CHECK(findings.at("policy").at("threshold").as_int64() == 10);
  REQUIRE(findings.at("objects").as_array().size() == 1);
  const auto& object = findings.at("objects").as_array()[0];
  CHECK(str(object, "filename") == "table1.csv");
  CHECK(str(object, "recommendation") == "escalated");
  const auto* threshold = check_named(object, "minimum_threshold");
  REQUIRE(threshold);
  CHECK(threshold->at("status").as_string() == "fail");
  CHECK(threshold->at("severity").as_string() == "critical");
  REQUIRE(threshold->at("cells").as_array().size() == 1);
  CHECK(threshold->at("cells").as_array()[0] == json::parse(R"({"row":1,"column":"count"})"));

  // The trail: claimed and recorded by the built-in agent.
  std::vector<std::string> agent_events;
  const auto trail = d.get("/requests/" + id + "/audit", world::admin).json();
  for (const auto& e : trail.as_array())
    if (str(e, "actor_id") == "agent:trevor-agent") agent_events.push_back(str(e, "event_type"));
  CHECK(agent_events == std::vector<std::string>{"request.agent_review_started", "review.created",
                                                 "request.human_review_started"});

  // The metrics count it.
  const auto m = d.get("/metrics", "").body;
  CHECK(sample(m, "trevor_agent_reviews_total{decision=\"escalated\"}") == 1);
  CHECK(sample(m, "trevor_agent_reviews_total{decision=\"approved\"}") == 0);
  CHECK(sample(m, "trevor_agent_check_failures_total{check=\"minimum_threshold\"}") == 1);
  CHECK(sample(m, "trevor_agent_queue_length") == 0);
  CHECK(sample(m, "trevor_agent_queue_oldest_seconds") == 0);
}

TEST_CASE("builtin agent: an escalated request is reviewed by a senior checker only") {
  daemon d(builtin);
  world w(d);
  const auto id = w.draft();
  upload(d, id, "table1.csv", small_cell);
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  REQUIRE(wait_for_agent(d, id) == "HUMAN_REVIEW");
  REQUIRE(str(agent_review_of(d, id), "decision") == "escalated");
  const auto target = "/requests/" + id + "/reviews";
  for (const char* checker : {world::c1, world::c2}) {
    auto refused = d.post(target, checker, json::object{{"decision", "approved"}});
    CHECK(refused.status == 403);
    CHECK(refused.detail().find("senior") != std::string::npos);
  }
  // Accepting the agent's findings needs an agent approval.
  CHECK(d.post(target, world::s1,
               json::object{{"decision", "rejected"},
                            {"summary", "cell of 3"},
                            {"accepted_agent_findings", true}})
            .status == 422);
  auto senior =
      d.post(target, world::s1, json::object{{"decision", "rejected"}, {"summary", "cell of 3"}});
  CHECK(senior.status == 201);
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "REJECTED");
}

TEST_CASE("builtin agent: an approval, accepted by a checker, counts in the dashboard") {
  daemon d(builtin);
  world w(d);
  const auto id = w.draft();
  upload(d, id, "table1.csv", safe_table);
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  REQUIRE(wait_for_agent(d, id) == "HUMAN_REVIEW");
  const auto review = agent_review_of(d, id);
  REQUIRE_MESSAGE(str(review, "decision") == "approved", json::serialize(review));
  CHECK(str(review, "summary").find("passed") != std::string::npos);
  auto accepted = d.post("/requests/" + id + "/reviews", world::c1,
                         json::object{{"decision", "approved"}, {"accepted_agent_findings", true}});
  REQUIRE_MESSAGE(accepted.status == 201, accepted.body);
  CHECK(accepted.json().at("accepted_agent_findings").as_bool());
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "APPROVED");
  const auto checkers = d.get("/admin/checkers", world::admin).json();
  bool seen = false;
  for (const auto& c : checkers.at("items").as_array())
    if (str(c, "reviewer_id") == w.user_ids["c1"]) {
      seen = true;
      CHECK(c.at("accepted_agent_findings_share").to_number<double>() == 1.0);
    }
  CHECK_MESSAGE(seen, json::serialize(checkers));
}

TEST_CASE("sdc-preview: the findings now, for the owner, checkers and admin; nothing recorded") {
  daemon d([](config& c) {
    c.agent_review = true;  // external: the request stays SUBMITTED while we look
    c.sdc_policy = trevor::sdc::policy_config::parse("threshold: 5\n");
  });
  world w(d);
  const auto id = w.draft();
  const auto oid = str(upload(d, id, "table1.csv", small_cell), "id");
  const auto target = "/requests/" + id + "/sdc-preview";

  // A DRAFT: the researcher checks before submitting.
  const auto before = row_counts(d);
  REQUIRE(before.count("audit_events"));
  REQUIRE(before.count("output_objects"));
  auto p = d.get(target, world::r1);
  REQUIRE_MESSAGE(p.status == 200, p.body);
  auto v = p.json();
  CHECK(str(v, "decision") == "escalated");  // 3 < 5
  CHECK(str(v, "summary").find("minimum_threshold") != std::string::npos);
  CHECK(v.at("findings").at("policy").at("threshold").as_int64() == 5);
  CHECK(str(v.at("findings").at("objects").as_array()[0], "object_id") == oid);
  CHECK(row_counts(d) == before);

  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  const auto submitted = row_counts(d);
  for (const char* who : {world::r1, world::c1, world::s1, world::admin}) {
    CAPTURE(who);
    auto again = d.get(target, who);
    CHECK(again.status == 200);
  }
  CHECK(row_counts(d) == submitted);
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "SUBMITTED");

  // Another researcher of the project, the agent's account, an outsider.
  const auto me = d.get("/users/me", "dev:r2").json();
  REQUIRE(
      d.post("/memberships", world::admin,
             json::object{
                 {"user_id", str(me, "id")}, {"project_id", w.project_id}, {"role", "researcher"}})
          .status == 201);
  CHECK(d.get(target, "dev:r2").status == 403);
  CHECK(d.get(target, "dev:sdc-bot:trevor_agent").status == 403);
  CHECK(d.get(target, world::outsider).status == 404);
  CHECK(d.get("/requests/" + trevor::uuid::v7().str() + "/sdc-preview", world::admin).status ==
        404);
}

TEST_CASE("agent policy: the project's effective policy with its id, for who may see the project") {
  daemon d([](config& c) {
    c.sdc_policy =
        trevor::sdc::policy_config::parse("threshold: 5\nprojects:\n  proj:\n    threshold: 20\n");
  });
  world w(d);
  auto r = d.get("/agent/policy?project_id=" + w.project_id, world::r1);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  const auto v = r.json();
  CHECK(v.at("threshold").as_int64() == 20);
  trevor::sdc::policy expected;
  expected.threshold = 20;
  CHECK(str(v, "id") == trevor::sdc::policy_id(expected));
  CHECK(v == json::parse(trevor::sdc::policy_document(expected)));
  CHECK(d.get("/agent/policy?project_id=" + w.project_id, world::c1).json() == v);
  CHECK(d.get("/agent/policy?project_id=" + w.project_id, "dev:sdc-bot:trevor_agent").json() == v);
  // Without a project: the defaults of the file.
  CHECK(d.get("/agent/policy", world::r1).json().at("threshold").as_int64() == 5);
  // Whoever may see the project (as GET /projects/{id} says), and nobody else.
  CHECK(d.get("/agent/policy?project_id=" + w.project_id, world::outsider).status ==
        d.get("/projects/" + w.project_id, world::outsider).status);
  CHECK(d.get("/agent/policy?project_id=" + trevor::uuid::v7().str(), world::r1).status == 404);
  CHECK(d.get("/agent/policy?project_id=nope", world::r1).status == 422);
  CHECK(d.get("/agent/policy?project_id=" + w.project_id, "").status == 401);
}

TEST_CASE("builtin agent: the package holds sdc-policy.json and no supporting object") {
  daemon d(builtin);
  world w(d);
  const auto id = w.draft();
  const auto table = upload(d, id, "table1.csv", safe_table);
  CHECK_FALSE(table.at("supporting").as_bool());
  const std::string log = "the analysis log: SECRET-SUPPORTING-BYTES\n";
  const auto support = upload(d, id, "analysis.log", log, "", true);
  CHECK(support.at("supporting").as_bool());
  const auto listed = d.get("/requests/" + id + "/objects", world::r1).json();
  for (const auto& o : listed.as_array())
    CHECK(o.at("supporting").as_bool() == (str(o, "filename") == "analysis.log"));
  // A query parameter says it too (octet-stream uploads).
  const auto q = d.call(
      {"POST", "/requests/" + id + "/objects?filename=notes.txt&output_type=other&supporting=true",
       world::r1, "notes", "application/octet-stream"});
  REQUIRE_MESSAGE(q.status == 201, q.body);
  CHECK(q.json().at("supporting").as_bool());
  CHECK(d.call({"POST",
                "/requests/" + id + "/objects?filename=x.txt&output_type=other&supporting=maybe",
                world::r1, "x", "application/octet-stream"})
            .status == 422);

  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  REQUIRE(wait_for_agent(d, id) == "HUMAN_REVIEW");
  const auto review = agent_review_of(d, id);
  REQUIRE_MESSAGE(str(review, "decision") == "approved", json::serialize(review));
  // Supporting objects are not checked as outputs.
  const auto& objects = review.at("findings").at("objects").as_array();
  REQUIRE(objects.size() == 1);
  CHECK(str(objects[0], "filename") == "table1.csv");
  REQUIRE(d.post("/requests/" + id + "/reviews", world::c1, json::object{{"decision", "approved"}})
              .status == 201);
  REQUIRE(str(d.get("/requests/" + id, world::r1).json(), "status") == "APPROVED");
  auto rel = d.post("/requests/" + id + "/release", world::admin);
  REQUIRE_MESSAGE(rel.status == 202, rel.body);
  const auto url = str(rel.json(), "download_url");
  const auto zip = d.get(url.substr(url.find("/requests/")), "");
  REQUIRE(zip.status == 200);
  CHECK(zip.body.find("sdc-policy.json") != std::string::npos);
  CHECK(zip.body.find(trevor::sdc::policy_id(trevor::sdc::policy{})) != std::string::npos);
  CHECK(zip.body.find("table1.csv") != std::string::npos);
  CHECK(zip.body.find("SECRET-SUPPORTING-BYTES") == std::string::npos);
  // No member for a supporting object (packaged files are data/<name>); its
  // name may appear in audit-proof.json, whose events name every object.
  CHECK(zip.body.find("data/analysis.log") == std::string::npos);
  CHECK(zip.body.find("data/notes.txt") == std::string::npos);
  CHECK(zip.body.find("data/table1.csv") != std::string::npos);
}

TEST_CASE("builtin agent: two daemons on one database review each of 50 requests exactly once") {
  daemon d1(builtin);
  daemon d2([&](config& c) {
    builtin(c);
    c.database_url = d1.database().url();
    c.storage_dir = d1.cfg().storage_dir;
  });
  world w(d1);
  constexpr int n = 50;
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back(w.draft("Request " + std::to_string(i)));
    upload(d1, ids.back(), "t.csv", i % 2 ? safe_table : small_cell);
  }
  // Submitted through both daemons from two threads, so that both nudge their workers.
  auto submit_half = [&](daemon& d, int parity) {
    for (int i = parity; i < n; i += 2)
      REQUIRE(
          d.post("/requests/" + ids[static_cast<std::size_t>(i)] + "/submit", world::r1).status ==
          200);
  };
  std::thread other([&] { submit_half(d2, 1); });
  submit_half(d1, 0);
  other.join();
  for (const auto& id : ids) REQUIRE(wait_for_agent(d1, id, 30) == "HUMAN_REVIEW");

  for (std::size_t i = 0; i < ids.size(); ++i) {
    CAPTURE(i);
    int started = 0, reviews = 0;
    const auto trail = d1.get("/requests/" + ids[i] + "/audit", world::admin).json();
    for (const auto& e : trail.as_array()) {
      if (str(e, "event_type") == "request.agent_review_started") ++started;
      if (str(e, "event_type") == "review.created") ++reviews;
    }
    CHECK(started == 1);
    CHECK(reviews == 1);
    CHECK(str(agent_review_of(d1, ids[i]), "decision") == (i % 2 ? "approved" : "escalated"));
  }
  CHECK(d1.database().count("SELECT count(*) FROM reviews") == n);
  // Each daemon counts the reviews its worker recorded: together, each once.
  double total = 0;
  for (daemon* d : {&d1, &d2}) {
    const auto m = d->get("/metrics", "").body;
    const double mine = sample(m, "trevor_agent_reviews_total{decision=\"approved\"}") +
                        sample(m, "trevor_agent_reviews_total{decision=\"escalated\"}");
    MESSAGE("a daemon reviewed " << mine << " of " << n);
    total += mine;
  }
  CHECK(total == n);
}

}  // namespace trevord::test
