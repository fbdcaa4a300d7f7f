// The built-in agent's review of a request of TABLES (default 100) small
// frequency tables, from its claim (SUBMITTED → AGENT_REVIEW) to
// HUMAN_REVIEW: one sdc_agent::run_once(1) — the claim, reading every
// object from the blob store, the checks, and the recorded review with its
// events and notifications. The median and the slowest of REQUESTS (default
// 5) requests, on the engine of DATABASE_URL. Target: < 1 s.
//
//   sdc_agent_bench DATABASE_URL [TABLES] [REQUESTS]
#include <cstring>

#include "bench_common.hpp"

namespace {

using bench::clock_type;

const std::string small_table =
    "region,female,male,Total\nnorth,12,*,30\nsouth,15,20,35\neast,40,41,81\nTotal,x,79,146\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sdc_agent_bench DATABASE_URL [TABLES] [REQUESTS]\n");
    return 2;
  }
  const std::size_t tables = argc > 2 ? std::stoul(argv[2]) : 100;
  const std::size_t requests = argc > 3 ? std::stoul(argv[3]) : 5;
  try {
    bench::scratch s(argv[1]);
    const auto blob_root =
        std::filesystem::temp_directory_path() / ("trevor-bench-blobs-" + trevor::uuid::v7().str());
    auto db = trevor::database::open(s.lib_url, {.pool_size = 2});
    trevor::filesystem_blob_store blobs(blob_root);
    trevor::directory dir(db);
    trevor::workflow_options options;
    options.agent_review = true;  // submissions wait in SUBMITTED for the agent
    trevor::workflow flow(db, blobs, options);
    trevor::sdc_agent agent(flow, blobs, dir);

    auto make = [&](const char* name, bool admin_role) {
      const auto u = dir.upsert_user({std::string("sub-") + name, name, "", name, "", ""});
      return trevor::actor{u.id, admin_role};
    };
    const auto admin = make("admin", true);
    const auto researcher = make("rita", false);
    const auto checker = make("chen", false);
    const auto project = trevor::uuid::v7();
    const trevor::project_spec spec{project, "bench", "Bench"};
    dir.reconcile_projects(admin, std::span(&spec, 1));
    dir.add_membership(admin, researcher.user_id, project, trevor::membership_role::researcher);
    dir.add_membership(admin, checker.user_id, project, trevor::membership_role::output_checker);

    std::vector<double> took;
    std::string decision;
    for (std::size_t r = 0; r < requests; ++r) {
      const auto req = flow.requests.create(
          researcher, {project, trevor::direction::egress, fmt::format("Request {}", r), ""});
      for (std::size_t i = 0; i < tables; ++i) {
        trevor::new_object o;
        o.filename = fmt::format("t{}.csv", i);
        o.output_type = trevor::output_type::tabular;
        o.statbarn = "Frequencies";
        o.metadata.researcher_justification = "benchmark";
        flow.objects.add(researcher, req.id, o, trevor::string_reader(small_table));
      }
      flow.requests.submit(researcher, req.id);
      const auto t0 = clock_type::now();
      const auto outcomes = agent.run_once(1);
      took.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
      if (outcomes.size() != 1 || !outcomes[0].recorded ||
          flow.requests.get(admin, req.id).status != trevor::request_status::human_review)
        throw std::runtime_error("the request did not reach HUMAN_REVIEW");
      decision = std::string(trevor::to_string(outcomes[0].recorded->decision));
      // Every table was checked (each appears once in the findings).
      std::size_t checked = 0;
      const auto& findings = outcomes[0].recorded->findings_json;
      for (std::size_t at = 0; (at = findings.find("\"object_id\"", at)) != std::string::npos; ++at)
        ++checked;
      if (checked != tables)
        throw std::runtime_error(fmt::format("{} of {} tables in the findings", checked, tables));
    }
    std::sort(took.begin(), took.end());
    std::printf(
        "sdc agent on %s: a request of %zu small tables from claim to HUMAN_REVIEW in %.3f s "
        "(median of %zu; slowest %.3f s; decision %s)\n",
        s.postgres() ? "PostgreSQL" : "SQLite (WAL, synchronous=NORMAL)", tables,
        took[took.size() / 2], took.size(), took.back(), decision.c_str());
    std::filesystem::remove_all(blob_root);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sdc_agent_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
