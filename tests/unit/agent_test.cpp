// The built-in agent (trevor::sdc_agent): it claims SUBMITTED requests,
// records its SDC review, and never leaves a request stuck.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "support.hpp"
#include "trevor/agent.hpp"
#include "world.hpp"

using namespace trevor;
using trevor::test::world;

namespace {

workflow_options agent_on() {
  workflow_options o;
  o.agent_review = true;
  return o;
}

/// A justified tabular output of `statbarn`.
new_object table(const std::string& filename, const std::string& statbarn = "Frequencies") {
  new_object o;
  o.filename = filename;
  o.output_type = output_type::tabular;
  o.statbarn = statbarn;
  o.metadata.researcher_justification = "Table 1 of the paper";
  return o;
}

/// A SUBMITTED request of one frequency table with `content`.
airlock_request submit_table(world& w, const std::string& content,
                             const std::string& filename = "counts.csv") {
  auto r = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "Counts", ""});
  w.flow.objects.add(w.r1, r.id, table(filename), string_reader(content));
  return w.flow.requests.submit(w.r1, r.id);
}

std::size_t count_events(world& w, const uuid& request_id, std::string_view type) {
  std::size_t n = 0;
  for (const auto& e : w.trail(request_id))
    if (e.event_type == type) ++n;
  return n;
}

}  // namespace

TEST_CASE("the agent reviews a submitted request and names the failing rule and cells") {
  world w(agent_on());
  sdc_agent agent(w.flow, w.blobs, w.dir, {.backoff = std::chrono::milliseconds(0)});
  const auto small = submit_table(w, "region,male,female\nNorth,25,3\nSouth,40,31\n");
  const auto fine = submit_table(w, "region,male,female\nNorth,25,13\nSouth,40,31\n");
  REQUIRE(small.status == request_status::submitted);

  const auto outcomes = agent.run_once();
  REQUIRE(outcomes.size() == 2);
  std::map<uuid, sdc_agent_outcome> by_id;
  for (const auto& o : outcomes) by_id.emplace(o.request_id, o);

  const auto& bad = by_id.at(small.id);
  REQUIRE(bad.recorded);
  CHECK(bad.failure.empty());
  CHECK(bad.recorded->decision == review_decision::escalated);
  CHECK(bad.recorded->reviewer_type == reviewer_type::agent);
  const auto findings = boost::json::parse(bad.recorded->findings_json).as_object();
  CHECK(findings.at("policy").as_object().at("id").as_string().size() == 64);
  const auto& checks = findings.at("objects").as_array().at(0).as_object().at("checks").as_array();
  bool named = false;
  for (const auto& c : checks) {
    const auto& o = c.as_object();
    if (o.at("check") == "minimum_threshold" && o.at("status") == "fail") {
      const auto& cell = o.at("cells").as_array().at(0).as_object();
      named = cell.at("row") == 1 && cell.at("column") == "female";
    }
  }
  CHECK(named);
  CHECK(bad.recorded->summary.find("minimum_threshold") != std::string::npos);
  CHECK(w.flow.requests.get(w.r1, small.id).status == request_status::human_review);

  const auto& good = by_id.at(fine.id);
  REQUIRE(good.recorded);
  CHECK(good.recorded->decision == review_decision::approved);
  CHECK(w.flow.requests.get(w.r1, fine.id).status == request_status::human_review);

  // Nothing left to do; a second pass claims nothing.
  CHECK(agent.run_once().empty());
}

TEST_CASE("an evidence table is passed to its table's checks, not checked as an output") {
  world w(agent_on());
  sdc_agent agent(w.flow, w.blobs, w.dir);
  auto r = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "Means", ""});
  const auto t = table("income.csv", "LinearAggregations");
  w.flow.objects.add(w.r1, r.id, t, string_reader("region,total\nNorth,1000\nSouth,2000\n"));
  new_object e = t;
  e.filename = "income.evidence.csv";
  // North: one contributor holds 95% of the total — (n,k) dominance fails.
  w.flow.objects.add(w.r1, r.id, e,
                     string_reader("region,count,sum,max,top2_sum,topn_sum,negatives\n"
                                   "North,12,1000,950,960,960,0\nSouth,15,2000,300,550,550,0\n"));
  w.flow.requests.submit(w.r1, r.id);
  const auto out = agent.run_once();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].recorded);
  const auto findings = boost::json::parse(out[0].recorded->findings_json).as_object();
  const auto& objects = findings.at("objects").as_array();
  REQUIRE(objects.size() == 1);  // the evidence is not an output of its own
  CHECK(objects[0].as_object().at("filename") == "income.csv");
  CHECK(out[0].recorded->findings_json.find("dominance_nk") != std::string::npos);
  CHECK(out[0].recorded->decision == review_decision::escalated);
}

TEST_CASE("a failing attempt goes back to SUBMITTED, is retried, and escalates after the last") {
  world w(agent_on());
  sdc_agent agent(w.flow, w.blobs, w.dir,
                  {.max_attempts = 3, .backoff = std::chrono::milliseconds(0)});
  const auto r = submit_table(w, "a,b\nx,12\n");
  // The object's bytes are gone from the store: every attempt fails.
  const auto obj = w.flow.objects.list(w.c1, r.id).at(0);
  std::filesystem::remove(std::filesystem::path(w.blobs.root()) / obj.storage_key);

  auto first = agent.run_once();
  REQUIRE(first.size() == 1);
  CHECK(first[0].attempt == 1);
  CHECK_FALSE(first[0].recorded);
  CHECK_FALSE(first[0].failure.empty());
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::submitted);
  CHECK(count_events(w, r.id, "request.agent_review_failed") == 1);
  const auto failed = w.trail(r.id).back();
  CHECK(failed.event_type == "request.agent_review_failed");
  CHECK(test::payload_of(failed).at("attempt") == 1);
  CHECK_FALSE(test::payload_of(failed).at("reason").as_string().empty());

  CHECK(agent.run_once().at(0).attempt == 2);
  const auto last = agent.run_once();
  REQUIRE(last.size() == 1);
  CHECK(last[0].attempt == 3);
  REQUIRE(last[0].recorded);
  CHECK(last[0].recorded->decision == review_decision::escalated);
  CHECK(last[0].recorded->findings_json.find("\"error\"") != std::string::npos);
  CHECK(last[0].recorded->summary.find("could not check") != std::string::npos);
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::human_review);
  CHECK(count_events(w, r.id, "request.agent_review_failed") == 3);
}

TEST_CASE("the back-off keeps a failed request from being retried at once") {
  world w(agent_on());
  sdc_agent agent(w.flow, w.blobs, w.dir, {.backoff = std::chrono::hours(1)});
  const auto r = submit_table(w, "a,b\nx,12\n");
  const auto obj = w.flow.objects.list(w.c1, r.id).at(0);
  std::filesystem::remove(std::filesystem::path(w.blobs.root()) / obj.storage_key);
  CHECK(agent.run_once().size() == 1);
  CHECK(agent.run_once().empty());  // still waiting out its back-off
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::submitted);
}

TEST_CASE("a review interrupted mid-way is returned by the sweep and then reviewed") {
  auto o = agent_on();
  o.agent_timeout = std::chrono::seconds(1);
  world w(o);
  const auto r = submit_table(w, "a,b\nx,12\n");
  // A worker claims it and dies.
  w.flow.reviews.start_agent_review(w.agent, r.id);
  CHECK(w.flow.sweeps.interrupted_agent_reviews().empty());  // not yet timed out
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const auto returned = w.flow.sweeps.interrupted_agent_reviews();
  REQUIRE(returned.size() == 1);
  CHECK(returned[0].id == r.id);
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::submitted);
  const auto failed = w.trail(r.id).back();
  CHECK(failed.event_type == "request.agent_review_failed");
  CHECK(failed.actor == "system");
  CHECK(test::payload_of(failed).at("reason").as_string().starts_with("interrupted"));

  sdc_agent agent(w.flow, w.blobs, w.dir);
  const auto out = agent.run_once();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].recorded);
  CHECK(out[0].recorded->decision == review_decision::approved);
}

TEST_CASE("several agents at once review each request exactly once") {
  world w(agent_on(), /*sqlite_file=*/true, 8);
  std::vector<uuid> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(submit_table(w, "a,b\nx,12\n").id);
  std::vector<std::thread> workers;
  std::atomic<int> reviewed{0};
  for (int t = 0; t < 3; ++t)
    workers.emplace_back([&] {
      sdc_agent agent(w.flow, w.blobs, w.dir);
      for (int pass = 0; pass < 6; ++pass)
        for (const auto& o : agent.run_once(3))
          if (o.recorded) ++reviewed;
    });
  for (auto& t : workers) t.join();
  CHECK(reviewed == 12);
  for (const auto& id : ids) {
    CAPTURE(id.str());
    CHECK(w.flow.requests.get(w.r1, id).status == request_status::human_review);
    CHECK(count_events(w, id, "request.agent_review_started") == 1);
    CHECK(w.fdb.count(fmt::format(
              "SELECT count(*) FROM reviews WHERE request_id = '{}' AND reviewer_type = 'agent'",
              id.str())) == 1);
  }
}

TEST_CASE("the preview says what the agent would record and changes nothing") {
  world w(agent_on());
  sdc_agent agent(w.flow, w.blobs, w.dir);
  const auto r = submit_table(w, "region,male,female\nNorth,25,3\n");
  const auto events = w.rows("audit_events"), reviews = w.rows("reviews");
  const auto p = agent.preview(w.r1, r.id);
  CHECK(p.decision == review_decision::escalated);
  CHECK(p.findings_json.find("minimum_threshold") != std::string::npos);
  CHECK(p.policy_id.size() == 64);
  CHECK(w.rows("audit_events") == events);
  CHECK(w.rows("reviews") == reviews);
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::submitted);
  // Only those who may read the request.
  CHECK(test::thrown_by([&] { agent.preview(w.outsider, r.id); }).code() == errc::not_found);
}

TEST_CASE("the policy's project overrides reach the agent's checks") {
  // The world's project is named proj-alpha.
  auto o = agent_on();
  o.sdc_policy = sdc::policy_config::parse(
      R"({"threshold": 10, "projects": {"proj-alpha": {"threshold": 2}}})");
  world w(o);
  REQUIRE(w.proj.name == "proj-alpha");
  sdc_agent agent(w.flow, w.blobs, w.dir);
  CHECK(agent.policy_for(w.proj.id).threshold == 2);
  const auto r = submit_table(w, "region,male,female\nNorth,25,3\n");
  const auto out = agent.run_once();
  REQUIRE(out.size() == 1);
  CHECK(out[0].recorded->decision == review_decision::approved);
  (void)r;
}

TEST_CASE("the agent runs no checks on supporting objects") {
  world w(agent_on());
  sdc_agent agent(w.flow, w.blobs, w.dir);
  auto r = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "With a log", ""});
  w.flow.objects.add(w.r1, r.id, table("counts.csv"), string_reader("a,b\nx,12\n"));
  new_object log;
  log.filename = "run.db";  // a blocked extension: would fail if it were checked
  log.supporting = true;
  w.flow.objects.add(w.r1, r.id, log, string_reader("SQLite format 3"));
  w.flow.requests.submit(w.r1, r.id);
  const auto out = agent.run_once();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].recorded);
  CHECK(out[0].recorded->decision == review_decision::approved);
  const auto objects =
      boost::json::parse(out[0].recorded->findings_json).as_object().at("objects").as_array();
  REQUIRE(objects.size() == 1);
  CHECK(objects[0].as_object().at("filename") == "counts.csv");
}
