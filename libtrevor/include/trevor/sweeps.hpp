#pragma once
// trevor::sweep_service — the periodic work no request triggers: stuck
// requests, expiring links, interrupted releases and agent reviews. Each sweep is safe with
// several daemons sweeping at once.

#include <vector>

#include "trevor/export.hpp"
#include "trevor/model.hpp"

namespace trevor {

namespace detail {
struct workflow_state;
}  // namespace detail

/// The sweeps (trevord runs them every TREVOR_SWEEP_SECONDS).
class TREVOR_EXPORT sweep_service {
 public:
  explicit sweep_service(detail::workflow_state& state) noexcept : s_(state) {}
  sweep_service(const sweep_service&) = delete;
  sweep_service& operator=(const sweep_service&) = delete;

  /// Notifies every checker of each request waiting in SUBMITTED,
  /// AGENT_REVIEW or HUMAN_REVIEW for longer than workflow_options::stuck_after since
  /// its last status change (request.stuck, audited), at most once per request
  /// per stuck period, even with several daemons sweeping at once. Returns the
  /// requests reported by this call.
  std::vector<airlock_request> stuck_requests();

  /// Tells the owner of each release whose link expires within
  /// workflow_options::link_warning (presigned_url.expiring_soon, audited) — once
  /// per link, even with several daemons sweeping. Returns the records warned.
  std::vector<release_record> expiring_links();

  /// Returns to APPROVED every request left RELEASING for longer than
  /// workflow_options::release_timeout (request.release_failed, reason
  /// "interrupted"). Returns the requests moved.
  std::vector<airlock_request> interrupted_releases();

  /// Returns to SUBMITTED every request left in AGENT_REVIEW for longer than
  /// workflow_options::agent_timeout — its worker stopped mid-review — as a
  /// failed attempt (request.agent_review_failed, reason "interrupted",
  /// actor "system"), so a worker tries it again. Returns the requests moved.
  std::vector<airlock_request> interrupted_agent_reviews();

 private:
  detail::workflow_state& s_;
};

}  // namespace trevor
