// The admin dashboard at scale, on one engine:
//
//   dashboard_bench DATABASE_URL [REQUESTS]
//
// Fills a freshly migrated database with REQUESTS requests (default 100000),
// three objects each, two human reviews for every request that reached a
// decision and ten audit events per request (eleven for released ones):
// about 1M events for 100k requests. Rows go in through multi-row INSERTs of
// 1000 rows in large transactions, not through the library or HTTP.
// Creation times spread over the 365 days before now, 50 projects.
//
// Then every dashboard read is timed through libtrevor (median of 5) next to
// a raw reference in the same run, and the ratio printed: for the audit
// searches, the same page read raw (the same columns, filter, ORDER BY and
// LIMIT through the driver, every value fetched); for the other reads, a
// plain indexed COUNT(*) over the rows they read. Last, the CSV export of the whole trail runs in a
// child process whose peak RSS is reported (VmHWM), so that the generator's memory does not count.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <fstream>
#include <random>

#include "bench_common.hpp"

using namespace bench;

namespace {

constexpr int projects = 50;
constexpr int researchers = 200;
constexpr int checkers = 120;
constexpr std::int64_t hour_us = std::int64_t{3600} * 1000000;

std::string id(unsigned kind, std::int64_t n) {
  return fmt::format("{:08x}-0000-7000-8000-{:012x}", kind, n);
}
/// Rows of one table, written by flush() as multi-row INSERTs of up to 1000
/// rows (the caller flushes parents before children: foreign keys).
class inserter {
 public:
  inserter(raw_exec& exec, std::string head) : exec_(exec), head_(std::move(head)) {}
  void row(const std::string& values) {
    sql_ += n_ ? ",(" : "(";
    sql_ += values;
    sql_ += ')';
    ++total_;
    if (++n_ == batch_size) full_.push_back(std::exchange(sql_, {})), n_ = 0;
  }
  void flush() {
    if (n_) full_.push_back(std::exchange(sql_, {}));
    n_ = 0;
    for (const auto& values : full_) exec_(head_ + " VALUES " + values);
    full_.clear();
  }
  std::size_t total() const { return total_; }

 private:
  raw_exec& exec_;
  std::string head_, sql_;
  std::vector<std::string> full_;
  std::size_t n_ = 0, total_ = 0;
};

std::string q(const std::string& s) {
  return "'" + s + "'";
}

struct fill_counts {
  std::size_t requests = 0, objects = 0, reviews = 0, events = 0;
};

fill_counts fill(const std::string& url, std::int64_t n_requests, std::int64_t now_us) {
  raw_exec exec(url);
  std::mt19937_64 rng(42);
  const auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  const auto at = [](std::int64_t us) { return q(trevor::timestamp(us).str()); };

  exec("BEGIN");
  {
    inserter users(exec, "INSERT INTO users (id, username, given_name, family_name)");
    users.row(fmt::format("{}, 'admin', 'Ada', 'Admin'", q(id(1, 0))));
    for (int i = 1; i <= researchers + checkers; ++i)
      users.row(fmt::format("{}, 'user{}', 'Given{}', 'Family{}'", q(id(1, i)), i, i, i));
    inserter prj(exec, "INSERT INTO projects (id, name, display_name)");
    for (int p = 0; p < projects; ++p)
      prj.row(fmt::format("{}, 'project-{:02}', 'Project {}'", q(id(2, p)), p, p));
    users.flush();
    prj.flush();
  }
  exec("COMMIT");

  fill_counts counts;
  std::int64_t object_n = 0, review_n = 0, event_n = 0;
  const std::int64_t per_tx = 5000;
  for (std::int64_t start = 0; start < n_requests; start += per_tx) {
    exec("BEGIN");
    inserter reqs(exec,
                  "INSERT INTO airlock_requests (id, project_id, direction, status, title, "
                  "owner_id, review_round, submitted_at, closed_at, created_at, updated_at)");
    inserter objs(exec,
                  "INSERT INTO output_objects (id, request_id, logical_object_id, version, "
                  "filename, output_type, storage_key, checksum_sha256, size_bytes, state, "
                  "uploaded_by, created_at)");
    inserter revs(exec,
                  "INSERT INTO reviews (id, request_id, round, reviewer_type, reviewer_id, "
                  "decision, created_at)");
    inserter evs(exec,
                 "INSERT INTO audit_events (id, occurred_at, actor, event_type, request_id, "
                 "project_id, payload)");
    for (std::int64_t i = start; i < std::min(start + per_tx, n_requests); ++i) {
      const std::string rid = id(3, static_cast<std::int64_t>(i));
      const std::string pid = id(2, static_cast<std::int64_t>(i % projects));
      const std::string owner = id(1, static_cast<std::int64_t>(1 + i % researchers));
      const std::string c1 = id(1, static_cast<std::int64_t>(1 + researchers + i % checkers));
      const std::string c2 = id(1, static_cast<std::int64_t>(1 + researchers + (i + 1) % checkers));
      const char* direction = i % 10 == 9 ? "ingress" : "egress";
      const int kind = static_cast<int>(i % 20);
      const char* status = kind == 0    ? "DRAFT"
                           : kind == 1  ? "SUBMITTED"
                           : kind == 2  ? "HUMAN_REVIEW"
                           : kind <= 4  ? "CHANGES_REQUESTED"
                           : kind <= 6  ? "REJECTED"
                           : kind == 7  ? "WITHDRAWN"
                           : kind <= 12 ? "APPROVED"
                                        : "RELEASED";
      const std::string st = status;
      const std::int64_t created =
          now_us - static_cast<std::int64_t>(uniform(0, 365 * 24.0) * static_cast<double>(hour_us));
      const auto h = [&](double lo, double hi) {
        return static_cast<std::int64_t>(uniform(lo, hi) * static_cast<double>(hour_us));
      };
      std::vector<std::string> events;
      const auto event = [&](std::int64_t t, const std::string& actor, const char* type,
                             const std::string& payload) {
        events.push_back(fmt::format("{}, {}, {}, '{}', {}, {}, {}", q(id(7, event_n++)), at(t),
                                     q(actor), type, q(rid), q(pid), q(payload)));
      };
      event(created, owner, "request.created", R"({"from": null, "to": "DRAFT"})");
      const char* object_state =
          st == "DRAFT" || st == "SUBMITTED" || st == "HUMAN_REVIEW" || st == "WITHDRAWN"
              ? "PENDING"
          : st == "CHANGES_REQUESTED" ? "CHANGES_REQUESTED"
          : st == "REJECTED"          ? "REJECTED"
                                      : "APPROVED";
      for (int k = 0; k < 3; ++k) {
        const std::string oid = id(5, object_n++);
        const std::int64_t t = created + h(0.01, 1);
        objs.row(
            fmt::format("{}, {}, {}, 1, 'table{}.csv', 'tabular', 'k/{}', '{:064}', 1000, "
                        "'{}', {}, {}",
                        q(oid), q(rid), q(oid), k, oid, 0, object_state, q(owner), at(t)));
        event(t, owner, "object.uploaded", fmt::format(R"({{"object_id": "{}"}})", oid));
      }
      std::int64_t updated = created, submitted = 0, closed = 0;
      bool was_submitted = false;
      if (st == "WITHDRAWN") {
        updated = created + h(1, 48);
        closed = updated;
        event(updated, owner, "request.withdrawn", R"({"from": "DRAFT", "to": "WITHDRAWN"})");
      } else if (st != "DRAFT") {
        was_submitted = true;
        submitted = created + h(1, 48);
        updated = submitted;
        event(submitted, owner, "request.submitted", R"({"from": "DRAFT", "to": "SUBMITTED"})");
        if (st != "SUBMITTED") {
          event(submitted, "system", "request.human_review_started",
                R"({"from": "SUBMITTED", "to": "HUMAN_REVIEW"})");
        }
        if (st != "SUBMITTED" && st != "HUMAN_REVIEW") {
          const std::int64_t r1 = submitted + h(1, 72), r2 = r1 + h(0.1, 48);
          const char* decision = st == "CHANGES_REQUESTED" ? "changes_requested"
                                 : st == "REJECTED"        ? "rejected"
                                                           : "approved";
          for (auto [who, t] : {std::pair{c1, r1}, std::pair{c2, r2}}) {
            revs.row(fmt::format("{}, {}, 1, 'human', {}, '{}', {}", q(id(6, review_n++)), q(rid),
                                 q(who), decision, at(t)));
            event(t, who, "review.created", fmt::format(R"({{"decision": "{}"}})", decision));
          }
          const std::string to = st == "RELEASED" ? "APPROVED" : st;
          event(r2, c2,
                fmt::format("request.{}", st == "RELEASED"   ? "approved"
                                          : st == "APPROVED" ? "approved"
                                          : st == "REJECTED" ? "rejected"
                                                             : "changes_requested")
                    .c_str(),
                fmt::format(R"({{"from": "HUMAN_REVIEW", "to": "{}"}})", to));
          updated = r2;
          if (st != "CHANGES_REQUESTED") closed = r2;
          if (st == "RELEASED") {
            const std::int64_t rel = r2 + h(1, 24);
            event(rel, id(1, 0), "request.releasing", R"({"from": "APPROVED", "to": "RELEASING"})");
            event(rel + h(0.001, 0.01), id(1, 0), "request.released",
                  R"({"from": "RELEASING", "to": "RELEASED"})");
            updated = rel + h(0.001, 0.01);
          }
        }
      }
      // Checkers' downloads and metadata edits bring every request to ten events.
      while (events.size() < 10)
        event(updated + h(0.001, 1), was_submitted ? c1 : owner,
              was_submitted ? "object.downloaded" : "object.metadata_updated", R"({"n": 1})");
      for (const auto& e : events) evs.row(e);
      reqs.row(fmt::format("{}, {}, '{}', '{}', 'Request {}', {}, 1, {}, {}, {}, {}", q(rid),
                           q(pid), direction, status, i, q(owner),
                           submitted ? at(submitted) : "NULL", closed ? at(closed) : "NULL",
                           at(created), at(updated)));
    }
    reqs.flush();  // parents first
    objs.flush();
    revs.flush();
    evs.flush();
    exec("COMMIT");
    counts.requests += reqs.total();
    counts.objects += objs.total();
    counts.reviews += revs.total();
    counts.events += evs.total();
  }
  exec("ANALYZE");
  return counts;
}

double median5(const std::function<void()>& fn) {
  fn();  // warm
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = clock_type::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dashboard_bench DATABASE_URL [REQUESTS]\n");
    return 2;
  }
  const std::string url = argv[1];
  const std::int64_t n = argc > 2 ? std::stoll(argv[2]) : 100000;
  try {
    if (std::getenv("DASHBOARD_BENCH_FILL_ONLY")) {
      // Fill DATABASE_URL itself and keep it, for looking at plans by hand.
      auto db = trevor::database::open(url, {.pool_size = 1});
      trevor::migrator(db).up();
      fill(url, n, trevor::timestamp::from_sys(std::chrono::system_clock::now()).micros());
      return 0;
    }
    scratch s(url);
    const bool pg = s.postgres();
    const std::int64_t now_us =
        trevor::timestamp::from_sys(std::chrono::system_clock::now()).micros();
    const auto t0 = clock_type::now();
    const auto counts = fill(s.lib_url, n, now_us);
    std::printf("%s: filled %zu requests, %zu objects, %zu reviews, %zu audit events in %.0f s\n",
                pg ? "postgresql" : "sqlite", counts.requests, counts.objects, counts.reviews,
                counts.events, std::chrono::duration<double>(clock_type::now() - t0).count());

    if (const char* copy = std::getenv("DASHBOARD_BENCH_COPY"); copy && !pg)
      std::filesystem::copy_file(s.dir / "lib.db", copy,
                                 std::filesystem::copy_options::overwrite_existing);
    auto db = trevor::database::open(s.lib_url, {.pool_size = 2});
    trevor::dashboard board(db);
    const trevor::actor admin{*trevor::uuid::parse(id(1, 0)), true};
    raw_exec raw(s.lib_url);
    const auto count = [&](const std::string& sql) { return [&raw, sql] { raw(sql); }; };
    // An audit search's page read raw: libtrevor's statement (its columns,
    // the time as text, newest first, one row more than the page to know
    // whether another follows) with the filter written in.
    const auto page = [&](const std::string& where) {
      const std::string sql = fmt::format(
          "SELECT id, seq, {}, actor, event_type, request_id, project_id, payload FROM "
          "audit_events WHERE {} ORDER BY occurred_at DESC, seq DESC LIMIT 101",
          pg ? "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
             : "occurred_at",
          where);
      return [&raw, sql] {
        if (raw.read(sql) == 0) throw std::runtime_error("an empty page: " + sql);
      };
    };
    const std::string since = trevor::timestamp(now_us - 30 * 24 * hour_us).str();
    const std::string project = id(2, 7);
    const std::string actor = id(1, 1 + researchers + 5);

    struct row {
      const char* what;
      std::function<void()> query;
      std::function<void()> reference;
      const char* reference_text;
    };
    trevor::overview_query overview;
    trevor::overview_query waiting;
    waiting.statuses = {trevor::request_status::submitted, trevor::request_status::human_review};
    trevor::audit_query by_project, by_type, by_actor, by_request;
    by_project.project_id = *trevor::uuid::parse(project);
    by_type.event_type_prefix = "request.";
    by_actor.actor = actor;
    by_request.request_id = *trevor::uuid::parse(id(3, 12345 % n));
    for (auto* a : {&by_project, &by_type, &by_actor, &by_request}) a->limit = 100;
    trevor::window_query last30;  // the default window
    trevor::window_query all;
    const std::vector<row> rows{
        {"overview, newest 50", [&] { board.request_overview(admin, overview); },
         count("SELECT count(*) FROM airlock_requests WHERE status <> 'DRAFT'"),
         "requests not DRAFT"},
        {"overview, waiting, newest 50", [&] { board.request_overview(admin, waiting); },
         count("SELECT count(*) FROM airlock_requests WHERE status IN ('SUBMITTED', "
               "'HUMAN_REVIEW')"),
         "requests waiting"},
        {"metrics, last 30 days", [&] { board.metrics(admin, last30); },
         count("SELECT count(*) FROM audit_events WHERE occurred_at >= '" + since + "'"),
         "audit events of the window"},
        {"checkers, all time", [&] { board.checkers(admin, all); },
         count("SELECT count(*) FROM reviews WHERE reviewer_type = 'human'"), "human reviews"},
        {"projects, all time", [&] { board.projects(admin, all); },
         count("SELECT count(*) FROM output_objects"), "objects"},
        {"audit search, project, page 100", [&] { board.audit_search(admin, by_project); },
         page("project_id = '" + project + "'"), "the same page, raw"},
        {"audit search, type prefix, page 100", [&] { board.audit_search(admin, by_type); },
         page("event_type >= 'request.' AND event_type < 'request/'"), "the same page, raw"},
        {"audit search, actor, page 100", [&] { board.audit_search(admin, by_actor); },
         page("actor = '" + actor + "'"), "the same page, raw"},
        {"audit search, request", [&] { board.audit_search(admin, by_request); },
         page("request_id = '" + id(3, 12345 % n) + "'"), "the same page, raw"},
    };
    std::printf("%-38s %10s %12s %7s  %s\n", "query (median of 5)", "ms", "raw ms", "ratio",
                "raw reference");
    for (const auto& r : rows) {
      const double a = median5(r.query), b = median5(r.reference);
      std::printf("%-38s %10.2f %12.2f %7.2f  %s\n", r.what, a, b, a / b, r.reference_text);
    }

    // The export in a child process: its peak RSS is the export's alone
    // (plus the process's baseline, reported first).
    std::fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
      auto cdb = trevor::database::open(s.lib_url, {.pool_size = 1});
      trevor::dashboard cboard(cdb);
      const long before = bench::peak_rss_kb();
      std::size_t bytes = 0, lines = 0;
      const auto e0 = clock_type::now();
      cboard.audit_export_csv(admin, {}, [&](std::string_view chunk) {
        bytes += chunk.size();
        lines += static_cast<std::size_t>(std::count(chunk.begin(), chunk.end(), '\n'));
      });
      const double secs = std::chrono::duration<double>(clock_type::now() - e0).count();
      std::printf(
          "CSV export of the whole trail: %zu lines, %.0f MB in %.1f s; peak RSS %ld kB "
          "(%ld kB before the export)\n",
          lines, static_cast<double>(bytes) / 1e6, secs, bench::peak_rss_kb(), before);
      std::fflush(stdout);
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("export failed");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dashboard_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
