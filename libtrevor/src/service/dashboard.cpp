// dashboard: the admin dashboard's read models.
#include "trevor/dashboard.hpp"

#include <fmt/format.h>

#include "db/transaction.hpp"
#include "service/common.hpp"
#include "store/dashboard.hpp"
#include "trevor/error.hpp"

namespace trevor {

using detail::connection;
using mode = detail::transaction::mode;

namespace {

/// tre_admin and auditors see every project; a senior checker the projects
/// where they are one (forbidden for another project, or when they are none).
detail::dashboard_scope overseer_scope(connection& c, const actor& who,
                                       const std::optional<uuid>& project_id) {
  detail::require_active_user(c, who);
  if (who.oversees()) return {project_id, std::nullopt};
  if (!detail::is_senior_checker(c, who.user_id, project_id)) {
    if (project_id)
      throw error(errc::forbidden,
                  fmt::format("project_id: only tre_admin and the project's senior checkers may "
                              "see the dashboard of project {}",
                              project_id->str()));
    throw error(errc::forbidden, "the dashboard is for tre_admin and senior checkers");
  }
  if (project_id) return {project_id, std::nullopt};
  return {std::nullopt, who.user_id};
}

void check_window(const window_query& q) {
  if (q.since && q.until && !(*q.since < *q.until))
    throw error(errc::invalid_argument, "since: must be earlier than until");
}

constexpr std::int64_t micros_per_hour = std::int64_t{3600} * 1000 * 1000;
constexpr std::int64_t default_metrics_days = 30;

}  // namespace

std::optional<std::pair<overview_sort, bool>> parse_overview_sort(std::string_view text) {
  const bool descending = text.starts_with('-');
  if (descending) text.remove_prefix(1);
  if (text == "updated_at") return std::pair{overview_sort::updated_at, descending};
  if (text == "submitted_at") return std::pair{overview_sort::submitted_at, descending};
  if (text == "created_at") return std::pair{overview_sort::created_at, descending};
  if (text == "status") return std::pair{overview_sort::status, descending};
  return std::nullopt;
}

std::string csv_cell(std::string_view text) {
  std::string cell;
  cell.reserve(text.size() + 3);
  if (!text.empty() && (text.front() == '=' || text.front() == '+' || text.front() == '-' ||
                        text.front() == '@' || text.front() == '\t' || text.front() == '\r'))
    cell.push_back('\'');
  cell.append(text);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char ch : cell) {
    if (ch == '"') quoted.push_back('"');
    quoted.push_back(ch);
  }
  quoted.push_back('"');
  return quoted;
}

dashboard::dashboard(database db, std::chrono::hours stuck_after, bool independent_review)
    : db_(std::move(db)), stuck_after_(stuck_after), independent_review_(independent_review) {
  if (stuck_after_.count() < 0)
    throw error(errc::invalid_argument, "stuck_after: must not be negative");
}

overview_page dashboard::request_overview(const actor& who, const overview_query& q) const {
  if (q.limit < 1 || q.limit > max_overview_page)
    throw error(errc::invalid_argument,
                fmt::format("limit: must be between 1 and {}", max_overview_page));
  if (q.offset < 0) throw error(errc::invalid_argument, "offset: must not be negative");
  for (auto st : q.statuses)
    if (st == request_status::draft)
      throw error(errc::invalid_argument,
                  "status: DRAFT requests are their owners' and not part of the overview");
  return detail::run_transaction(db_.impl(), mode::read, "request overview", [&](connection& c) {
    const auto scope = overseer_scope(c, who, q.project_id);
    const auto now = q.as_of ? *q.as_of : detail::database_now(c);
    return detail::select_overview(c, scope, q, now);
  });
}

pipeline_metrics dashboard::metrics(const actor& who, const window_query& q) const {
  check_window(q);
  return detail::run_transaction(db_.impl(), mode::read, "pipeline metrics", [&](connection& c) {
    const auto scope = overseer_scope(c, who, q.project_id);
    const auto now = q.as_of ? *q.as_of : detail::database_now(c);
    pipeline_metrics m;
    m.until = q.until.value_or(now);
    m.since =
        q.since.value_or(timestamp(m.until.micros() - default_metrics_days * 24 * micros_per_hour));
    if (q.since && !q.until && !(*q.since < now))
      m.until = m.since;  // a window that has not begun yet: empty, not an error
    else if (!(m.since < m.until))
      throw error(errc::invalid_argument,
                  "until: must be later than since (default: 30 days "
                  "before until)");
    detail::select_request_counts(c, scope, m);
    detail::select_pipeline_percentiles(c, scope, m);
    m.stuck_requests = detail::select_stuck(
        c, scope, timestamp(now.micros() - stuck_after_.count() * micros_per_hour), now);
    return m;
  });
}

std::vector<checker_performance> dashboard::checkers(const actor& who,
                                                     const window_query& q) const {
  check_window(q);
  return detail::run_transaction(db_.impl(), mode::read, "checker performance", [&](connection& c) {
    auto scope = overseer_scope(c, who, q.project_id);
    scope.hide_open_rounds = independent_review_ && !who.oversees();
    return detail::select_checkers(c, scope, q);
  });
}

std::vector<project_summary> dashboard::projects(const actor& who, const window_query& q) const {
  check_window(q);
  return detail::run_transaction(db_.impl(), mode::read, "project summaries", [&](connection& c) {
    const auto scope = overseer_scope(c, who, q.project_id);
    return detail::select_projects(c, scope, q);
  });
}

void dashboard::require_admin(const actor& who) const {
  if (!who.oversees())
    throw error(errc::forbidden, "the admin dashboard is for tre_admin and auditors only");
  detail::run_transaction(db_.impl(), mode::read, "dashboard",
                          [&](connection& c) { detail::require_active_user(c, who); });
}

audit_page dashboard::audit_search(const actor& who, const audit_query& q) const {
  require_admin(who);
  return audit_log(db_).query(q);
}

void dashboard::audit_export_csv(const actor& who, audit_query q, const byte_writer& sink) const {
  require_admin(who);
  audit_log log(db_);
  q.limit = max_audit_page;
  q.cursor.clear();
  std::string chunk = std::string(audit_csv_header) + "\r\n";
  for (;;) {
    auto page = log.query(q);
    for (const auto& e : page.items) {
      chunk += csv_cell(e.id.str());
      chunk += ',';
      chunk += csv_cell(e.occurred_at.str());
      chunk += ',';
      chunk += csv_cell(e.event_type);
      chunk += ',';
      chunk += csv_cell(e.actor);
      chunk += ',';
      chunk += csv_cell(e.request_id ? e.request_id->str() : std::string());
      chunk += ',';
      chunk += csv_cell(e.payload_json);
      chunk += "\r\n";
    }
    sink(chunk);
    chunk.clear();
    if (page.next_cursor.empty()) return;
    q.cursor = std::move(page.next_cursor);
  }
}

}  // namespace trevor
