#pragma once
// trevor::request_service — a request's life: creation, submission,
// resubmission, withdrawal, and the reads of requests.
//
// Every mutating member function is one database transaction that checks the
// policy (trevor/policy.hpp), writes the change, its audit event(s) and its
// notification rows, and commits — or throws trevor::error and changes
// nothing. Errors: not_found for an unknown id or one the actor may not see
// (members of the request's project, tre_admin and the agent see a request);
// forbidden for a visible thing the actor may not change (and for a
// deactivated user); invalid_transition when the request's status does not
// allow the operation; conflict for a concurrent change or a duplicate;
// invalid_argument for malformed or incomplete input, with the field named.
// Thread-safety: every member function may be called concurrently.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trevor/actor.hpp"
#include "trevor/audit.hpp"
#include "trevor/export.hpp"
#include "trevor/model.hpp"
#include "trevor/policy.hpp"

namespace trevor {

namespace detail {
struct workflow_state;
}  // namespace detail

struct new_request {
  uuid project_id;
  trevor::direction direction = direction::egress;
  std::string title;  // 1..max_title_length characters, not only blanks
  std::string description;
};

/// A request with its live objects (superseded versions left out), read in
/// one transaction.
struct request_detail {
  airlock_request request;
  std::vector<output_object> objects;
};

struct request_list_filter {
  std::optional<uuid> project_id;
  std::optional<request_status> status;
  /// list_page(): at most this many (1 to max_request_page); 0: all.
  std::size_t limit = 0;
  /// list_page(): the next_cursor of the previous page; empty: the first.
  std::string cursor;
};

inline constexpr std::size_t max_request_page = 1000;

/// One page of requests, newest first.
struct request_page {
  std::vector<airlock_request> items;
  /// Empty when this was the last page.
  std::string next_cursor;
};

/// Requests: create, submit, resubmit, withdraw; read and list.
class TREVOR_EXPORT request_service {
 public:
  explicit request_service(detail::workflow_state& state) noexcept : s_(state) {}
  request_service(const request_service&) = delete;
  request_service& operator=(const request_service&) = delete;

  /// — → DRAFT. Egress: a researcher on the project; ingress: tre_admin or a
  /// senior checker on it. The project must be active. Audits request.created.
  airlock_request create(const actor& who, const new_request& input);

  /// DRAFT → SUBMITTED (agent on) or HUMAN_REVIEW (agent off), by the owner or
  /// tre_admin; needs a live object and every ingress slot confirmed. Audits
  /// request.submitted and notifies every checker of the project.
  airlock_request submit(const actor& who, const uuid& request_id);

  /// CHANGES_REQUESTED → SUBMITTED or HUMAN_REVIEW, starting round n + 1; needs
  /// no live object still CHANGES_REQUESTED and at least one PENDING object.
  airlock_request resubmit(const actor& who, const uuid& request_id);

  /// DRAFT or CHANGES_REQUESTED → WITHDRAWN, by the owner or tre_admin. A
  /// non-blank `reason` (at most max_reason_length characters) is recorded
  /// in request.withdrawn's payload as `reason`.
  airlock_request withdraw(const actor& who, const uuid& request_id, std::string_view reason = {});

  airlock_request get(const actor& who, const uuid& request_id) const;
  /// get() and object_service::list() in one read transaction.
  request_detail get_detail(const actor& who, const uuid& request_id) const;
  /// The request's whole audit trail, oldest first (by occurred_at, seq), for
  /// whoever may see the request.
  std::vector<audit_event> audit_trail(const actor& who, const uuid& request_id) const;
  /// How many requests are in each status (every status listed, zeros
  /// included): the daemon's metrics. No actor: operators' figures.
  std::vector<std::pair<request_status, std::int64_t>> count_by_status() const;
  /// tre_admin and the agent see every request; anyone else those of their
  /// projects. Newest first.
  std::vector<airlock_request> list(const actor& who, const request_list_filter& filter = {}) const;
  /// The requests `who` may see, newest first, a page at a time: keyset
  /// paging on (created_at, id), stable while requests are created. A
  /// malformed cursor or a limit above max_request_page is invalid_argument.
  request_page list_page(const actor& who, const request_list_filter& filter) const;

 private:
  airlock_request move(const actor& who, const uuid& request_id, operation op);
  detail::workflow_state& s_;
};

}  // namespace trevor
