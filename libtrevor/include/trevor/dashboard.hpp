#pragma once
// trevor::dashboard — the read models of the admin dashboard.
//
// Computed by the database, never by loading rows and looping in C++: each
// read is one SQL statement or a small fixed number of them, with the
// indexes they need, and the same SQL text on SQLite and PostgreSQL.
//
// Who may read what:
//  * audit search and export: an active user with tre_admin;
//  * request overview, pipeline metrics, checker performance, project
//    summaries: an active tre_admin (every project), or an active senior
//    checker, who sees the projects where they are a senior checker and
//    nothing else (asking for another project is forbidden).
//
// Percentiles (medians and p90) have one definition on both engines: linear
// interpolation between the closest ranks — the p-th percentile of n sorted
// values v[0..n-1] is v[lo] + (v[hi] - v[lo]) * (h - lo) with h = p * (n - 1),
// lo = floor(h), hi = ceil(h). This is PostgreSQL's percentile_cont (and
// numpy's default). The database ranks the values with window functions and
// returns the interpolated value times ten as an exact integer (durations in
// microseconds), so both engines give bit-identical results; nothing to
// count gives nullopt (null in JSON), never 0 or NaN.
//
// "Now" (for ages, waiting times and the default window) is the database's
// clock unless the query names an `as_of` time, which makes a report
// reproducible.
//
// Thread-safety: all member functions may be called concurrently.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trevor/actor.hpp"
#include "trevor/audit.hpp"
#include "trevor/blob_store.hpp"
#include "trevor/database.hpp"
#include "trevor/export.hpp"
#include "trevor/model.hpp"

namespace trevor {

/// The header line of the audit CSV export (without its CRLF).
inline constexpr std::string_view audit_csv_header =
    "id,timestamp,event_type,actor_id,request_id,payload";

/// One CSV cell (RFC 4180): text starting with '=', '+', '-', '@', a tab or
/// a carriage return gets a leading "'" so that spreadsheets do not read it
/// as a formula; a cell containing a comma, a double quote, CR or LF is
/// quoted with its quotes doubled.
TREVOR_EXPORT std::string csv_cell(std::string_view text);

/// The request overview's sort keys (each ascending, or descending with
/// `descending`); ties are broken by request id in the same direction.
enum class overview_sort { updated_at, submitted_at, created_at, status };

/// "updated_at", "-updated_at", ... → key and direction; nullopt otherwise.
TREVOR_EXPORT std::optional<std::pair<overview_sort, bool>> parse_overview_sort(
    std::string_view text);

struct overview_query {
  /// Empty: every status but DRAFT (DRAFT is never listed).
  std::vector<request_status> statuses;
  std::optional<uuid> project_id;
  std::optional<trevor::direction> direction;
  overview_sort sort = overview_sort::updated_at;
  bool descending = true;
  std::int64_t limit = 50;  // 1..max_overview_page
  std::int64_t offset = 0;  // >= 0
  std::optional<timestamp> as_of;
};
inline constexpr std::int64_t max_overview_page = 100;

struct overview_item {
  uuid id;
  uuid project_id;
  std::string project_name;
  std::string title;
  request_status status{};
  trevor::direction direction{};
  uuid owner_id;                  // submitted_by in the HTTP API
  std::string owner_name;         // given and family name, or the username when both are empty
  std::int64_t object_count = 0;  // live versions (SUPERSEDED not counted)
  std::optional<timestamp> submitted_at;
  timestamp created_at;
  timestamp updated_at;
  double age_hours = 0;  // now - created_at
  friend bool operator==(const overview_item&, const overview_item&) = default;
};

struct overview_page {
  std::vector<overview_item> items;
  std::int64_t total = 0;  // every match, regardless of limit and offset
  friend bool operator==(const overview_page&, const overview_page&) = default;
};

/// A median and a 90th percentile (see the definition above).
struct percentiles {
  std::optional<double> median;
  std::optional<double> p90;
  friend bool operator==(const percentiles&, const percentiles&) = default;
};

/// A time window [since, until) over creation (requests) or review times.
struct window_query {
  std::optional<uuid> project_id;
  std::optional<timestamp> since;
  std::optional<timestamp> until;
  std::optional<timestamp> as_of;
};

struct stuck_request {
  uuid request_id;
  std::string title;
  request_status status{};
  timestamp since;  // the last status change
  double waiting_hours = 0;
  friend bool operator==(const stuck_request&, const stuck_request&) = default;
};

/// Pipeline metrics over the requests created in [since, until) (default:
/// the 30 days before now). libtrevor/README.md ("Dashboard read models")
/// gives every definition.
struct pipeline_metrics {
  timestamp since;
  timestamp until;
  std::int64_t total_requests = 0;
  /// Every status and direction, zeros included, in enum order.
  std::vector<std::pair<request_status, std::int64_t>> by_status;
  std::vector<std::pair<trevor::direction, std::int64_t>> by_direction;
  /// Over decided requests (APPROVED, RELEASING, RELEASED, REJECTED,
  /// CHANGES_REQUESTED); nullopt when there is none.
  std::optional<double> approval_rate, revision_rate, rejection_rate;
  percentiles hours_to_first_review;                   // first submission → first human review
  percentiles hours_to_decision;                       // first submission → current decision
  std::optional<double> median_revisions_per_request;  // review_round - 1, submitted requests
  /// Completed stays in each state a request can leave (DRAFT … RELEASING),
  /// from the audit trail's status changes.
  std::vector<std::pair<request_status, percentiles>> hours_in_state;
  /// Waiting longer than the threshold, oldest first (ignores the window).
  std::vector<stuck_request> stuck_requests;
  friend bool operator==(const pipeline_metrics&, const pipeline_metrics&) = default;
};

struct checker_performance {
  uuid reviewer_id;
  std::string reviewer_name;
  std::int64_t reviews = 0;
  std::int64_t approved = 0;
  std::int64_t changes_requested = 0;
  std::int64_t rejected = 0;
  /// From the start of the review's round (the submission that opened it).
  std::optional<double> median_turnaround_hours;
  /// Reviews that accepted the agent's findings, over this reviewer's reviews
  /// of rounds in which the agent approved (the only rounds where accepting
  /// is possible); nullopt when there was no such round.
  std::optional<double> accepted_agent_findings_share;
  friend bool operator==(const checker_performance&, const checker_performance&) = default;
};

struct project_summary {
  uuid project_id;
  std::string name;
  std::string display_name;
  /// Every status, zeros included, in enum order.
  std::vector<std::pair<request_status, std::int64_t>> by_status;
  std::int64_t objects_submitted = 0;  // every version uploaded to a request that was submitted
  std::int64_t objects_approved = 0;   // state APPROVED
  std::int64_t objects_released = 0;   // APPROVED objects of RELEASED requests
  std::int64_t releases = 0;           // requests RELEASED (egress releases and ingress deliveries)
  std::optional<double> median_hours_to_decision;
  friend bool operator==(const project_summary&, const project_summary&) = default;
};

class TREVOR_EXPORT dashboard {
 public:
  /// `stuck_after` is TREVOR_STUCK_HOURS (0 lists every waiting request).
  /// With `independent_review` (TREVOR_INDEPENDENT_REVIEW) a senior
  /// checker's checker performance leaves out the reviews of rounds still
  /// open; tre_admin and auditors see them.
  explicit dashboard(database db, std::chrono::hours stuck_after = std::chrono::hours(72),
                     bool independent_review = true);

  /// Non-DRAFT requests with their project and owner names and object
  /// counts; one page in the chosen order and the total (two statements).
  overview_page request_overview(const actor& who, const overview_query& q) const;

  /// Pipeline metrics (four statements: the window's clock, counts,
  /// percentiles, stuck requests).
  pipeline_metrics metrics(const actor& who, const window_query& q) const;

  /// One row per human reviewer with a review in the window (review
  /// creation time; no bounds by default), most reviews first.
  std::vector<checker_performance> checkers(const actor& who, const window_query& q) const;

  /// One row per project in scope, by name; requests counted when created
  /// in the window (no bounds by default).
  std::vector<project_summary> projects(const actor& who, const window_query& q) const;

  /// One page of the audit trail matching every filter of `q` (newest first
  /// unless q.order says otherwise; keyset pagination, see audit_log::query).
  audit_page audit_search(const actor& who, const audit_query& q) const;

  /// Every event matching the filters of `q` (q.limit and q.cursor are
  /// ignored) as CSV: audit_csv_header, then one line per event, newest first,
  /// lines ending in CRLF. Streamed to `sink` a page (up to max_audit_page
  /// events) at a time, so memory stays flat whatever the trail's size. The
  /// pages are read one after the other (keyset), not in one snapshot: events
  /// appended during the export may or may not appear, none twice.
  void audit_export_csv(const actor& who, audit_query q, const byte_writer& sink) const;

  /// Forbidden unless `who` is an active user who oversees the TRE
  /// (actor::oversees(): tre_admin or an auditor) — who may read the admin
  /// read models and the audit trail's proofs and leaves.
  void require_overseer(const actor& who) const { require_admin(who); }

 private:
  void require_admin(const actor& who) const;
  database db_;
  std::chrono::hours stuck_after_;
  bool independent_review_ = true;
};

}  // namespace trevor
