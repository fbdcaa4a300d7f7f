#pragma once
// The admin dashboard's SQL (internal). Runs in the caller's transaction.
//
// Every read is one statement (or a fixed few) whose text is the same on
// both engines but for dialect placeholders; percentiles are ranked with
// window functions and returned times ten as exact integers (see
// trevor/dashboard.hpp for the definition).

#include <cstdint>
#include <optional>
#include <vector>

#include "db/connection.hpp"
#include "trevor/dashboard.hpp"

namespace trevor::detail {

/// Which projects a dashboard read covers: one project, the projects where
/// `senior_id` is a senior checker, both (their intersection) or all.
struct dashboard_scope {
  std::optional<uuid> project_id;
  std::optional<uuid> senior_id;
  /// Checker performance leaves out the reviews of rounds still open
  /// (independent review, for senior checkers).
  bool hide_open_rounds = false;
};

/// The database's clock.
timestamp database_now(connection& c);

/// Whether `user_id` is a senior checker on `project_id` (or on any project
/// when project_id is empty).
bool is_senior_checker(connection& c, const uuid& user_id, const std::optional<uuid>& project_id);

overview_page select_overview(connection& c, const dashboard_scope& s, const overview_query& q,
                              timestamp now);

/// Fills by_status, by_direction, total_requests and the rates.
void select_request_counts(connection& c, const dashboard_scope& s, pipeline_metrics& m);

/// Fills the percentiles (first review, decision, revisions, time in state).
void select_pipeline_percentiles(connection& c, const dashboard_scope& s, pipeline_metrics& m);

/// Requests waiting in SUBMITTED, AGENT_REVIEW or HUMAN_REVIEW since
/// `changed_before` or earlier, oldest first.
std::vector<stuck_request> select_stuck(connection& c, const dashboard_scope& s,
                                        timestamp changed_before, timestamp now);

std::vector<checker_performance> select_checkers(connection& c, const dashboard_scope& s,
                                                 const window_query& w);

std::vector<project_summary> select_projects(connection& c, const dashboard_scope& s,
                                             const window_query& w);

}  // namespace trevor::detail
