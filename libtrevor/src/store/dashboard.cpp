#include "store/dashboard.hpp"

#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "db/dialect.hpp"
#include "db/rows.hpp"
#include "store/query.hpp"
#include "store/requests.hpp"
#include "trevor/error.hpp"
#include "trevor/policy.hpp"

namespace trevor::detail {
namespace {

// ------------------------------------------------------------ SQL fragments

// Decided = a reviewers' outcome is the request's current status; WITHDRAWN
// is not a decision (libtrevor/README.md, "Dashboard read models"). A
// REVOKED request was approved and released before its revocation.
constexpr sql_text decided{
    "('APPROVED', 'RELEASING', 'RELEASED', 'REJECTED', 'CHANGES_REQUESTED', 'REVOKED')"};

// A person's (users row `U`) display name: given and family name, else the
// username.
template <sql_text U>
constexpr auto person_name =
    "CASE WHEN trim(" + U + ".given_name || ' ' || " + U + ".family_name) = '' THEN " + U +
    ".username ELSE trim(" + U + ".given_name || ' ' || " + U + ".family_name) END";

// The pipeline metrics, project summaries and checker performance read
// request_facts, request_stays and review_facts (migration 0010): one narrow
// row per request, per status change and per human review, kept by the
// database's triggers in the transaction of each change, with every time as
// integer microseconds. Nothing here converts text to time or reads the
// audit trail's JSON.
//
// The first submission of facts row `F`: its request.submitted event
// (DRAFT -> SUBMITTED happens once; resubmissions are request.resubmitted).
// submitted_us holds the latest submission, which in round 1 is the first.
template <sql_text F>
constexpr auto first_submission = "CASE WHEN " + F + ".review_round = 1 THEN " + F +
                                  ".submitted_us ELSE " + F + ".first_submitted_us END";

// Percentiles over CTE samples(g, v): rank each group's values (0-based i,
// group size n), then for p = A/10: h = A(n-1)/10, lo = floor(h),
// hi = ceil(h) = (A(n-1) + 9) / 10 in integer division, and
// 10 * (v[lo] + (v[hi] - v[lo]) * (h - lo)) = 10 v[lo] + (v[hi] - v[lo]) * (A(n-1) mod 10):
// an exact integer on both engines.
constexpr sql_text ranked{
    "ranked AS (SELECT g, v, row_number() OVER (PARTITION BY g ORDER BY v) - 1 AS i, count(*) "
    "OVER (PARTITION BY g) AS n FROM samples)"};
template <sql_text A>
constexpr auto pctl_x10 =
    "(10 * min(CASE WHEN i = " + A + " * (n - 1) / 10 THEN v END) + " + "(min(CASE WHEN i = (" + A +
    " * (n - 1) + 9) / 10 THEN v END) - " + "min(CASE WHEN i = " + A +
    " * (n - 1) / 10 THEN v END)) * max(" + A + " * (n - 1) % 10))";

constexpr double micros_per_hour = 3600.0 * 1e6;

/// A percentile times ten (microseconds) as hours; NULL → nullopt.
std::optional<double> hours_x10(const std::optional<std::int64_t>& v) {
  if (!v) return std::nullopt;
  return static_cast<double>(*v) / (10 * micros_per_hour);
}

double hours_of(std::int64_t micros) {
  return static_cast<double>(micros) / micros_per_hour;
}

std::optional<double> ratio(std::int64_t part, std::int64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

/// " AND <column> ..." restricting rows to the scope's projects.
void restrict_to(sql_builder& st, const dashboard_scope& s, std::string_view column) {
  if (s.project_id) {
    st << " AND " << column << " = ";
    st.text(s.project_id->str());
  }
  if (s.senior_id) {
    st << " AND " << column
       << " IN (SELECT m.project_id FROM project_memberships m WHERE m.role = 'senior_checker' "
          "AND m.user_id = ";
    st.text(s.senior_id->str()) << ")";
  }
}

/// " AND <column> >= since AND <column> < until" for the bounds given, on a
/// column of integer microseconds.
void within_us(sql_builder& st, const window_query& w, std::string_view column) {
  if (w.since) {
    st << " AND " << column << " >= ";
    st.integer(w.since->micros());
  }
  if (w.until) {
    st << " AND " << column << " < ";
    st.integer(w.until->micros());
  }
}

}  // namespace

timestamp database_now(connection& c) {
  const auto read = [](row_reader& r) { return r.ts(); };
  return *(c.kind() == engine::postgresql ? query_one(c, one_time("SELECT {t:now()}"), read)
                                          : query_one(c, one_time("SELECT {now}"), read));
}

bool is_senior_checker(connection& c, const uuid& user_id, const std::optional<uuid>& project_id) {
  const std::string user = user_id.str(), project = project_id ? project_id->str() : "";
  if (project_id)
    return query_count(c,
                       one_time("SELECT count(*) FROM project_memberships WHERE user_id = :u "
                                "AND project_id = :p AND role = 'senior_checker'"),
                       user, project) > 0;
  return query_count(c,
                     one_time("SELECT count(*) FROM project_memberships WHERE user_id = :u "
                              "AND role = 'senior_checker'"),
                     user) > 0;
}

// -------------------------------------------------------------- overview

overview_page select_overview(connection& c, const dashboard_scope& s, const overview_query& q,
                              timestamp now) {
  const auto where = [&](sql_builder& st) {
    st << " WHERE r.status <> 'DRAFT'";
    if (!q.statuses.empty()) {
      // Enum names from the fixed table: safe to inline.
      st << " AND r.status IN (";
      for (std::size_t i = 0; i < q.statuses.size(); ++i)
        st << (i ? ", '" : "'") << to_string(q.statuses[i]) << "'";
      st << ")";
    }
    if (q.direction) st << " AND r.direction = '" << to_string(*q.direction) << "'";
    restrict_to(st, s, "r.project_id");
  };
  std::string_view key;
  switch (q.sort) {
    case overview_sort::updated_at: key = "r.updated_at"; break;
    case overview_sort::submitted_at: key = "r.submitted_at"; break;
    case overview_sort::created_at: key = "r.created_at"; break;
    case overview_sort::status: key = "r.status"; break;
  }
  // NULL submitted_at (withdrawn before submission) placed as PostgreSQL
  // does by default, spelled out for SQLite.
  const std::string order = q.descending ? fmt::format("{} DESC NULLS FIRST, r.id DESC", key)
                                         : fmt::format("{} ASC NULLS LAST, r.id ASC", key);

  overview_page page;
  sql_builder count;
  count << "SELECT count(*) FROM airlock_requests r";
  where(count);
  page.total = query_one(c, count, read_count).value_or(0);

  sql_builder st;
  st << "SELECT r.id, r.project_id, p.name, r.title, r.status, r.direction, r.owner_id, "
     << person_name<"u">
     << ", (SELECT count(*) FROM output_objects o WHERE o.request_id = r.id "
        "AND o.state <> 'SUPERSEDED'), {t:r.submitted_at}, {t:r.created_at}, {t:r.updated_at}, ";
  st.integer(now.micros()) << " - {us:r.created_at} FROM (SELECT * FROM airlock_requests r";
  where(st);
  st << " ORDER BY " << order << " LIMIT ";
  st.integer(q.limit) << " OFFSET ";
  st.integer(q.offset) << ") r JOIN projects p ON p.id = r.project_id "
                          "JOIN users u ON u.id = r.owner_id ORDER BY "
                       << order;
  page.items = query_all(c, st, [](row_reader& r) {
    overview_item it;
    it.id = r.uuid();
    it.project_id = r.uuid();
    it.project_name = r.text();
    it.title = r.text();
    it.status = r.enum_<request_status>();
    it.direction = r.enum_<direction>();
    it.owner_id = r.uuid();
    it.owner_name = r.text();
    it.object_count = r.i64();
    it.submitted_at = r.opt_ts();
    it.created_at = r.ts();
    it.updated_at = r.ts();
    it.age_hours = hours_of(r.i64());
    return it;
  });
  return page;
}

// --------------------------------------------------------------- metrics

void select_request_counts(connection& c, const dashboard_scope& s, pipeline_metrics& m) {
  sql_builder st;
  st << "SELECT f.status, f.direction, count(*) FROM request_facts f WHERE f.created_us >= ";
  st.integer(m.since.micros()) << " AND f.created_us < ";
  st.integer(m.until.micros());
  restrict_to(st, s, "f.project_id");
  st << " GROUP BY f.status, f.direction";

  m.by_status = zero_status_counts();
  m.by_direction = {{direction::egress, 0}, {direction::ingress, 0}};
  m.total_requests = 0;
  const auto rows = query_all(c, st, [](row_reader& r) {
    const auto status = r.enum_<request_status>();
    const auto dir = r.enum_<direction>();
    return std::tuple{status, dir, r.i64()};
  });
  for (const auto& [status, dir, n] : rows) {
    m.by_status[static_cast<std::size_t>(status)].second += n;
    m.by_direction[static_cast<std::size_t>(dir)].second += n;
    m.total_requests += n;
  }
  const auto count = [&](request_status x) {
    return m.by_status[static_cast<std::size_t>(x)].second;
  };
  const auto approved = count(request_status::approved) + count(request_status::releasing) +
                        count(request_status::released) + count(request_status::revoked);
  const auto rejected = count(request_status::rejected);
  const auto revised = count(request_status::changes_requested);
  const auto decided_n = approved + rejected + revised;
  m.approval_rate = ratio(approved, decided_n);
  m.revision_rate = ratio(revised, decided_n);
  m.rejection_rate = ratio(rejected, decided_n);
}

void select_pipeline_percentiles(connection& c, const dashboard_scope& s, pipeline_metrics& m) {
  sql_builder st;
  // MATERIALIZED: read once, though four parts of the query use it.
  st << "WITH pop AS MATERIALIZED (SELECT f.request_id, f.status, f.review_round, f.submitted_us, "
        "f.decided_us, "
     << first_submission<"f">
     << " AS first_us, f.first_human_review_us AS human_us FROM request_facts f "
        "WHERE f.created_us >= ";
  st.integer(m.since.micros()) << " AND f.created_us < ";
  st.integer(m.until.micros());
  restrict_to(st, s, "f.project_id");
  // CROSS JOIN is an inner join on both engines; on SQLite it also keeps the
  // window's requests as the outer loop (each reads its stays by primary
  // key).
  st << "), samples AS ("
        "SELECT 'first_review' AS g, human_us - first_us AS v FROM pop "
        "WHERE human_us IS NOT NULL AND first_us IS NOT NULL "
        "UNION ALL SELECT 'decision', decided_us - first_us FROM pop "
        "WHERE first_us IS NOT NULL AND status IN "
     << decided
     << " UNION ALL SELECT 'revisions', review_round - 1 FROM pop "
        "WHERE submitted_us IS NOT NULL "
        "UNION ALL SELECT 'state:' || s.state, s.left_us - s.entered_us FROM pop "
        "CROSS JOIN request_stays s WHERE s.request_id = pop.request_id "
        "AND s.left_us IS NOT NULL), "
     << ranked << " SELECT g, " << pctl_x10<"5"> << ", "
     << pctl_x10<"9"> << " FROM ranked GROUP BY g";

  // States a request can leave (the non-terminal ones), in enum order.
  m.hours_in_state.clear();
  for (const auto& [state, zero] : zero_status_counts())
    if (!is_terminal(state)) m.hours_in_state.emplace_back(state, percentiles{});
  m.hours_to_first_review = {};
  m.hours_to_decision = {};
  m.median_revisions_per_request.reset();

  struct group_row {
    std::string g;
    std::optional<std::int64_t> p50_x10, p90_x10;
  };
  const auto rows = query_all(c, st, [](row_reader& r) {
    return group_row{r.text(), r.opt_i64(), r.opt_i64()};
  });
  for (const auto& row : rows) {
    const percentiles p{hours_x10(row.p50_x10), hours_x10(row.p90_x10)};
    if (row.g == "first_review") {
      m.hours_to_first_review = p;
    } else if (row.g == "decision") {
      m.hours_to_decision = p;
    } else if (row.g == "revisions") {
      if (row.p50_x10) m.median_revisions_per_request = static_cast<double>(*row.p50_x10) / 10;
    } else if (row.g.starts_with("state:")) {
      const auto state = parse_enum_or_throw<request_status>(std::string_view(row.g).substr(6));
      for (auto& [s_, pct] : m.hours_in_state)
        if (s_ == state) pct = p;
    }
  }
}

std::vector<stuck_request> select_stuck(connection& c, const dashboard_scope& s,
                                        timestamp changed_before, timestamp now) {
  sql_builder st;
  st << "SELECT r.id, r.title, r.status, {t:r.updated_at}, ";
  st.integer(now.micros()) << " - {us:r.updated_at} FROM airlock_requests r "
                              "WHERE r.status IN ('SUBMITTED', 'AGENT_REVIEW', 'HUMAN_REVIEW') "
                              "AND r.updated_at <= ";
  st.text(changed_before.str());
  restrict_to(st, s, "r.project_id");
  st << " ORDER BY r.updated_at, r.id";
  return query_all(c, st, [](row_reader& r) {
    stuck_request x;
    x.request_id = r.uuid();
    x.title = r.text();
    x.status = r.enum_<request_status>();
    x.since = r.ts();
    x.waiting_hours = hours_of(r.i64());
    return x;
  });
}

// -------------------------------------------------------------- checkers

std::vector<checker_performance> select_checkers(connection& c, const dashboard_scope& s,
                                                 const window_query& w) {
  sql_builder st;
  // review_facts (migration 0010): one row per human review, with its
  // round's start (the request's k-th submission event opens round k) and
  // whether the agent approved that round, kept by the database's triggers.
  st << "WITH rv AS (SELECT f.reviewer_id, f.decision, f.accepted_agent_findings AS accepted, "
        "f.agent_approved, f.created_us - f.round_started_us AS turnaround FROM review_facts f";
  // Independent review: a senior checker's figures leave out the reviews of
  // rounds still open, which would give away a colleague's pending verdict.
  if (s.hide_open_rounds)
    st << " JOIN request_facts q ON q.request_id = f.request_id WHERE NOT (f.round = "
          "q.review_round AND q.status IN ('SUBMITTED', 'AGENT_REVIEW', 'HUMAN_REVIEW'))";
  else
    st << " WHERE 1 = 1";
  within_us(st, w, "f.created_us");
  restrict_to(st, s, "f.project_id");
  st << "), samples AS (SELECT reviewer_id AS g, turnaround AS v FROM rv "
        "WHERE turnaround IS NOT NULL), "
     << ranked << ", pct AS (SELECT g, " << pctl_x10<"5">
     << " AS m FROM ranked GROUP BY g), "
        "agg AS (SELECT reviewer_id, count(*) AS reviews, "
        "sum(CASE WHEN decision = 'approved' THEN 1 ELSE 0 END) AS approved, "
        "sum(CASE WHEN decision = 'changes_requested' THEN 1 ELSE 0 END) AS changes, "
        "sum(CASE WHEN decision = 'rejected' THEN 1 ELSE 0 END) AS rejected, "
        "sum(CASE WHEN agent_approved THEN 1 ELSE 0 END) AS agent_rounds, "
        "sum(CASE WHEN agent_approved AND accepted THEN 1 ELSE 0 END) AS accepted "
        "FROM rv GROUP BY reviewer_id) "
        "SELECT agg.reviewer_id, "
     << person_name<"u">
     << ", agg.reviews, agg.approved, agg.changes, agg.rejected, pct.m, agg.agent_rounds, "
        "agg.accepted FROM agg JOIN users u ON u.id = agg.reviewer_id "
        "LEFT JOIN pct ON pct.g = agg.reviewer_id ORDER BY agg.reviews DESC, agg.reviewer_id";
  return query_all(c, st, [](row_reader& r) {
    checker_performance p;
    p.reviewer_id = r.uuid();
    p.reviewer_name = r.text();
    p.reviews = r.i64();
    p.approved = r.i64();
    p.changes_requested = r.i64();
    p.rejected = r.i64();
    p.median_turnaround_hours = hours_x10(r.opt_i64());
    const auto agent_rounds = r.i64();
    p.accepted_agent_findings_share = ratio(r.i64(), agent_rounds);
    return p;
  });
}

// -------------------------------------------------------------- projects

std::vector<project_summary> select_projects(connection& c, const dashboard_scope& s,
                                             const window_query& w) {
  sql_builder st;
  st << "WITH pr AS (SELECT p.id, p.name, p.display_name FROM projects p WHERE 1 = 1";
  restrict_to(st, s, "p.id");
  st << "), req AS MATERIALIZED (SELECT f.project_id, f.status, f.submitted_us, f.decided_us, "
     << first_submission<"f">
     << " AS first_us, f.objects, f.objects_approved FROM request_facts f "
        "WHERE f.project_id IN (SELECT id FROM pr)";
  within_us(st, w, "f.created_us");
  st << "), objs AS (SELECT project_id, sum(objects) AS submitted, "
        "sum(objects_approved) AS approved, "
        "sum(CASE WHEN status IN ('RELEASED', 'REVOKED') THEN objects_approved ELSE 0 END) "
        "AS released FROM req WHERE submitted_us IS NOT NULL GROUP BY project_id), "
        "samples AS (SELECT project_id AS g, decided_us - first_us AS v FROM req "
        "WHERE first_us IS NOT NULL AND status IN "
     << decided << "), " << ranked << ", pct AS (SELECT g, " << pctl_x10<"5">
     << " AS m FROM ranked GROUP BY g) "
        "SELECT pr.id, pr.name, pr.display_name, coalesce(objs.submitted, 0), "
        "coalesce(objs.approved, 0), coalesce(objs.released, 0), "
        "pct.m FROM pr LEFT JOIN objs ON objs.project_id = pr.id LEFT JOIN pct ON pct.g = pr.id "
        "ORDER BY pr.name";
  auto out = query_all(c, st, [](row_reader& r) {
    project_summary p;
    p.project_id = r.uuid();
    p.name = r.text();
    p.display_name = r.text();
    p.by_status = zero_status_counts();
    p.objects_submitted = r.i64();
    p.objects_approved = r.i64();
    p.objects_released = r.i64();
    p.median_hours_to_decision = hours_x10(r.opt_i64());
    return p;
  });

  sql_builder counts;
  counts << "SELECT f.project_id, f.status, count(*) FROM request_facts f WHERE 1 = 1";
  restrict_to(counts, s, "f.project_id");
  within_us(counts, w, "f.created_us");
  counts << " GROUP BY f.project_id, f.status";
  std::unordered_map<uuid, std::size_t> index;
  for (std::size_t i = 0; i < out.size(); ++i) index.emplace(out[i].project_id, i);
  const auto rows = query_all(c, counts, [](row_reader& r) {
    const auto project = r.uuid();
    const auto status = r.enum_<request_status>();
    return std::tuple{project, status, r.i64()};
  });
  for (const auto& [project, status, n] : rows) {
    const auto it = index.find(project);
    if (it == index.end()) continue;
    out[it->second].by_status[static_cast<std::size_t>(status)].second = n;
  }
  for (auto& p : out)
    p.releases = p.by_status[static_cast<std::size_t>(request_status::released)].second +
                 p.by_status[static_cast<std::size_t>(request_status::revoked)].second;
  return out;
}

}  // namespace trevor::detail
