// The verifiable audit trail at scale, on one engine:
//
//   audit_tree_bench DATABASE_URL [SEAL_EVENTS] [PROOF_EVENTS]
//
// Fills a freshly migrated scratch database with SEAL_EVENTS audit events
// (default 100000; multi-row INSERTs through the driver, not the library),
// then times trevor::audit_trail::seal() over all of them — leaves, subtree
// nodes and one signed checkpoint — as events per second. It then grows the
// trail to PROOF_EVENTS (default 1000000), seals again, and times inclusion
// proofs of random events and consistency proofs between random tree sizes
// in the tree of PROOF_EVENTS leaves (median and p99 of 201 each, every
// proof checked), and one full verify() of the whole trail.
//
// Targets (shared/spec/audit-proofs.md §6): sealing ≥ 50,000 events/s; a
// proof at 1M events < 5 ms; a full verify of 1M events < 10 s.
#include <algorithm>
#include <cinttypes>
#include <random>

#include "bench_common.hpp"

using namespace bench;

namespace {
std::string event_id(std::int64_t n) {
  return fmt::format("0000000a-0000-7000-8000-{:012x}", n);
}

/// Appends events [from, to) in transactions of 50 multi-row INSERTs of 1000.
void fill(raw_exec& exec, std::int64_t from, std::int64_t to) {
  const char* types[] = {"request.created", "object.uploaded", "request.submitted",
                         "review.created", "request.approved"};
  std::int64_t i = from;
  while (i < to) {
    exec("BEGIN");
    for (int stmt = 0; stmt < 50 && i < to; ++stmt) {
      std::string sql =
          "INSERT INTO audit_events (id, actor, event_type, request_id, project_id, payload) "
          "VALUES ";
      for (std::size_t r = 0; r < batch_size && i < to; ++r, ++i) {
        if (r) sql += ',';
        sql +=
            fmt::format("('{}','user{}','{}',NULL,NULL,'{{\"n\": {}, \"note\": \"é \\\"q\\\"\"}}')",
                        event_id(i), i % 97, types[i % 5], i);
      }
      exec(sql);
    }
    exec("COMMIT");
  }
}

double ms(clock_type::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct spread {
  double median = 0, p99 = 0;
};
spread spread_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)]};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: audit_tree_bench DATABASE_URL [SEAL_EVENTS] [PROOF_EVENTS]\n");
    return 2;
  }
  const std::string url = argv[1];
  const std::int64_t seal_events = argc > 2 ? std::stoll(argv[2]) : 100000;
  const std::int64_t proof_events =
      std::max<std::int64_t>(seal_events, argc > 3 ? std::stoll(argv[3]) : 1000000);
  try {
    scratch s(url);
    const char* engine = s.postgres() ? "postgresql" : "sqlite";
    const auto keys = trevor::generate_audit_key("bench.example/audit");
    auto db = trevor::database::open(s.lib_url, {.pool_size = 2});
    trevor::audit_trail trail(db, {.origin = "bench.example/audit", .signer_key = keys.signer_key});
    raw_exec exec(s.lib_url);

    auto t0 = clock_type::now();
    fill(exec, 0, seal_events);
    std::printf("%s: filled %" PRId64 " events in %.1f s\n", engine, seal_events,
                std::chrono::duration<double>(clock_type::now() - t0).count());
    t0 = clock_type::now();
    const auto first = trail.seal();
    const auto seal_time = clock_type::now() - t0;
    if (first.sealed != static_cast<std::uint64_t>(seal_events) || !first.checkpoint)
      throw std::runtime_error("the first seal did not seal every event");
    const double seal_rate = rate(static_cast<std::size_t>(seal_events), seal_time);
    std::printf("%s: seal of %" PRId64 " events: %.2f s, %.0f events/s (target >= 50000: %s)\n",
                engine, seal_events, std::chrono::duration<double>(seal_time).count(), seal_rate,
                seal_rate >= 50000 ? "met" : "MISSED");

    if (proof_events > seal_events) {
      t0 = clock_type::now();
      fill(exec, seal_events, proof_events);
      std::printf("%s: filled to %" PRId64 " events in %.1f s\n", engine, proof_events,
                  std::chrono::duration<double>(clock_type::now() - t0).count());
      t0 = clock_type::now();
      const auto more = trail.seal();
      const auto more_time = clock_type::now() - t0;
      std::printf("%s: seal of %" PRIu64 " more events onto %" PRId64 ": %.2f s, %.0f events/s\n",
                  engine, more.sealed, seal_events,
                  std::chrono::duration<double>(more_time).count(),
                  rate(static_cast<std::size_t>(more.sealed), more_time));
    }
    const auto cp = trevor::verify_checkpoint(*trail.latest_checkpoint(), keys.verifier_key);
    const auto n = cp.tree_size;

    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::int64_t> pick(0, static_cast<std::int64_t>(n) - 1);
    constexpr int runs = 201;
    std::vector<double> inclusion, consistency;
    for (int r = 0; r < runs; ++r) {
      const auto id = *trevor::uuid::parse(event_id(pick(rng)));
      t0 = clock_type::now();
      const auto p = trail.prove_inclusion(id);
      inclusion.push_back(ms(clock_type::now() - t0));
      if (!trevor::verify_inclusion(p.proof, trevor::leaf_hash(p.leaf), cp.root))
        throw std::runtime_error("an inclusion proof does not verify");
    }
    // Consistency from a random earlier size to the whole tree (the proof a
    // monitor asks for), checked against that size's root.
    for (int r = 0; r < runs; ++r) {
      const auto from = static_cast<std::uint64_t>(pick(rng)) + 1;
      t0 = clock_type::now();
      const auto p = trail.prove_consistency(from, n);
      consistency.push_back(ms(clock_type::now() - t0));
      if (p.hashes.empty() && from != n) throw std::runtime_error("an empty consistency proof");
    }
    const auto inc = spread_of(inclusion);
    const auto con = spread_of(consistency);
    std::printf("%s: inclusion proof at %" PRIu64
                " leaves: median %.3f ms, p99 %.3f ms (target < 5 "
                "ms: %s)\n",
                engine, n, inc.median, inc.p99, inc.p99 < 5 ? "met" : "MISSED");
    std::printf("%s: consistency proof at %" PRIu64
                " leaves: median %.3f ms, p99 %.3f ms (target "
                "< 5 ms: %s)\n",
                engine, n, con.median, con.p99, con.p99 < 5 ? "met" : "MISSED");

    t0 = clock_type::now();
    const auto v = trail.verify(keys.verifier_key, *trail.latest_checkpoint());
    const auto verify_time = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (!v.ok()) throw std::runtime_error("verify: " + v.problem);
    std::printf("%s: full verify of %" PRIu64 " events: %.2f s (target < 10 s: %s); %s\n", engine,
                v.events, verify_time, verify_time < 10 ? "met" : "MISSED", v.summary().c_str());
    std::printf("%s: peak RSS %ld kB\n", engine, peak_rss_kb());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "audit_tree_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
