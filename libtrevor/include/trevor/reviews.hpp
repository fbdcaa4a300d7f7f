#pragma once
// trevor::review_service — the reviews of a round: human reviews under the
// two-person rule (libtrevor/README.md, "Review rules") and the agent's review.
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

#include <string>
#include <vector>

#include "trevor/actor.hpp"
#include "trevor/export.hpp"
#include "trevor/model.hpp"
#include "trevor/policy.hpp"

namespace trevor {

namespace detail {
struct workflow_state;
}  // namespace detail

struct agent_review_input {
  review_decision decision = review_decision::approved;  // or escalated
  std::string summary;
  std::string findings_json = "[]";  // the rule engine's results, stored as given (JSON)
};

/// Reviews: a human's, the agent's; reads.
class TREVOR_EXPORT review_service {
 public:
  explicit review_service(detail::workflow_state& state) noexcept : s_(state) {}
  review_service(const review_service&) = delete;
  review_service& operator=(const review_service&) = delete;

  /// A human review of the current round (libtrevor/README.md, "Review rules"). Appends per-object
  /// feedback to the objects' checker_feedback; when the review completes the
  /// round, closes it in the same transaction (status, object states, events
  /// and notifications). Audits review.created.
  review record(const actor& who, const uuid& request_id, const human_review_input& input);

  /// SUBMITTED → AGENT_REVIEW, by the agent. Audits
  /// request.agent_review_started with agent.audit_actor() as the actor.
  airlock_request start_agent_review(const agent_credential& agent, const uuid& request_id);

  /// Records the agent's review of the current round and moves the request to
  /// HUMAN_REVIEW (from SUBMITTED through AGENT_REVIEW in one call). A second
  /// agent review in a round is a conflict. Notifies the project's checkers
  /// (agent_review.ready). The events name agent.audit_actor().
  review record_agent_review(const agent_credential& agent, const uuid& request_id,
                             const agent_review_input& input);

  /// The agent could not finish its review of the current round:
  /// AGENT_REVIEW → SUBMITTED, audited as request.agent_review_failed with
  /// the reason and the attempt number (1 for the round's first failure),
  /// which it returns. `reason` is one line, at most 1000 bytes (longer is
  /// cut).
  int fail_agent_review(const agent_credential& agent, const uuid& request_id,
                        std::string_view reason);

  /// The failed attempts of the request's current round so far.
  int agent_review_attempts(const uuid& request_id) const;

  std::vector<review> list(const actor& who, const uuid& request_id) const;
  review get(const actor& who, const uuid& request_id, const uuid& review_id) const;

 private:
  detail::workflow_state& s_;
};

}  // namespace trevor
