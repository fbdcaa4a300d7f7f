// Workflow transitions per second, libtrevor against the raw driver's
// single-row commit rate in the same run, on one engine:
//
//   workflow_bench DATABASE_URL [REQUESTS]
//
// 3 x REQUESTS draft requests (one uploaded object each) are prepared
// untimed. Then three rounds, each on its own REQUESTS drafts: the raw
// driver's rate (one INSERT ... RETURNING per transaction, autocommit, one
// writer like libtrevor's one caller), every draft submitted (DRAFT ->
// HUMAN_REVIEW, audited, the project's checkers notified), reviewed by a
// first checker (recorded, round still open) and by a second (the round
// closes: APPROVED, objects APPROVED, the owner notified); the raw run comes
// first in the first and third rounds and last in the second. Every figure is
// the median of its three runs. Target: each libtrevor rate >= 0.5x raw.
//
// On PostgreSQL the libpq protocol trace of the pool's one connection counts
// round trips (Query and Sync messages) per operation, BEGIN and COMMIT
// included and then excluded (target <= 3 besides them).
#include <soci/postgresql/soci-postgresql.h>

#include <cstdio>
#include <cstring>

#include "bench_common.hpp"
#include "db/connection.hpp"

using namespace bench;

namespace {

/// Counts the client's round trips on the pool's only connection while alive.
class round_trip_counter {
 public:
  explicit round_trip_counter(trevor::database& db) {
    auto lease = db.impl().acquire();
    auto* be = static_cast<soci::postgresql_session_backend*>(lease->sql.get_backend());
    conn_ = be->conn_;
    file_ = std::tmpfile();
    PQtrace(conn_, file_);
    PQsetTraceFlags(conn_, PQTRACE_SUPPRESS_TIMESTAMPS);
  }
  ~round_trip_counter() {
    PQuntrace(conn_);
    std::fclose(file_);
  }
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

struct tre {
  trevor::database db;
  trevor::filesystem_blob_store blobs;
  trevor::directory dir;
  trevor::workflow flow;
  trevor::actor admin, researcher, checker1, checker2;
  trevor::uuid project;

  tre(const std::string& url, const std::filesystem::path& blob_root)
      : db(trevor::database::open(url, {.pool_size = 1})),
        blobs(blob_root),
        dir(db),
        flow(db, blobs, {}) {
    auto make = [&](const char* name, bool admin_role) {
      const auto u = dir.upsert_user({std::string("sub-") + name, name, "", name, "", ""});
      return trevor::actor{u.id, admin_role};
    };
    admin = make("admin", true);
    researcher = make("rita", false);
    checker1 = make("chen", false);
    checker2 = make("carla", false);
    project = trevor::uuid::v7();
    const trevor::project_spec spec{project, "bench", "Bench"};
    dir.reconcile_projects(admin, std::span(&spec, 1));
    dir.add_membership(admin, researcher.user_id, project, trevor::membership_role::researcher);
    dir.add_membership(admin, checker1.user_id, project, trevor::membership_role::output_checker);
    dir.add_membership(admin, checker2.user_id, project, trevor::membership_role::output_checker);
  }

  std::vector<trevor::uuid> drafts(std::size_t n) {
    std::vector<trevor::uuid> ids;
    for (std::size_t i = 0; i < n; ++i) {
      const auto r = flow.requests.create(
          researcher, {project, trevor::direction::egress, fmt::format("Request {}", i), ""});
      trevor::new_object o;
      o.filename = "table.csv";
      o.output_type = trevor::output_type::tabular;
      bool done = false;
      flow.objects.add(researcher, r.id, o, [&](char* buf, std::size_t) -> std::size_t {
        if (done) return 0;
        done = true;
        std::memcpy(buf, "n,mean\n42,1.5\n", 14);
        return 14;
      });
      ids.push_back(r.id);
    }
    return ids;
  }
};

trevor::human_review_input approve() {
  trevor::human_review_input in;
  in.decision = trevor::review_decision::approved;
  in.summary = "no disclosure risk";
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: workflow_bench DATABASE_URL [REQUESTS]\n");
    return 2;
  }
  const std::size_t n = argc > 2 ? std::stoul(argv[2]) : 1000;
  try {
    scratch s(argv[1]);
    const auto blob_root =
        std::filesystem::temp_directory_path() / ("trevor-bench-blobs-" + trevor::uuid::v7().str());
    tre t(s.lib_url, blob_root);
    raw_driver raw(s);
    constexpr int rounds = 3;
    const auto ids = t.drafts(rounds * n);

    time_it(200, [&] { raw.insert_one(); });  // warm up
    std::vector<double> raw_rates, submit, review_open, review_close, review_both;
    for (int round = 0; round < rounds; ++round) {
      const auto* mine = ids.data() + static_cast<std::size_t>(round) * n;
      auto raw_run = [&] { raw_rates.push_back(rate(n, time_it(n, [&] { raw.insert_one(); }))); };
      if (round != 1) raw_run();
      std::size_t i = 0;
      submit.push_back(
          rate(n, time_it(n, [&] { t.flow.requests.submit(t.researcher, mine[i++]); })));
      i = 0;
      const auto open =
          time_it(n, [&] { t.flow.reviews.record(t.checker1, mine[i++], approve()); });
      i = 0;
      const auto close =
          time_it(n, [&] { t.flow.reviews.record(t.checker2, mine[i++], approve()); });
      review_open.push_back(rate(n, open));
      review_close.push_back(rate(n, close));
      review_both.push_back(rate(2 * n, open + close));
      if (round == 1) raw_run();
    }
    const double raw_rate = median3(raw_rates);

    std::printf(
        "workflow transitions on %s (%zu requests per run; every figure the median of %d runs, "
        "one writer on each side)\n",
        s.postgres() ? "PostgreSQL" : "SQLite (WAL, synchronous=NORMAL)", n, rounds);
    report("submit (DRAFT -> HUMAN_REVIEW)", raw_rate, median3(submit), 0.5);
    report("review, round stays open", raw_rate, median3(review_open), 0.5);
    report("review that closes the round", raw_rate, median3(review_close), 0.5);
    report("record-review, both of a round", raw_rate, median3(review_both), 0.5);

    if (s.postgres()) {
      constexpr std::size_t traced = 50;
      const auto more = t.drafts(traced);
      auto per_op = [&](const std::function<void(const trevor::uuid&)>& fn) {
        round_trip_counter counter(t.db);
        for (const auto& id : more) fn(id);
        return static_cast<double>(counter.count()) / traced;
      };
      const double rt_submit =
          per_op([&](const auto& id) { t.flow.requests.submit(t.researcher, id); });
      const double rt_open =
          per_op([&](const auto& id) { t.flow.reviews.record(t.checker1, id, approve()); });
      const double rt_close =
          per_op([&](const auto& id) { t.flow.reviews.record(t.checker2, id, approve()); });
      std::printf("round trips per operation on PostgreSQL (with BEGIN and COMMIT / without):\n");
      std::printf("  submit                          %5.1f / %4.1f  (target <= 3 without)\n",
                  rt_submit, rt_submit - 2);
      std::printf("  review, round stays open        %5.1f / %4.1f\n", rt_open, rt_open - 2);
      std::printf("  review that closes the round    %5.1f / %4.1f\n", rt_close, rt_close - 2);
    }
    std::filesystem::remove_all(blob_root);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "workflow_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
