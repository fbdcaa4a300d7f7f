#pragma once
// The workflow's rules as plain data and pure functions.
//
// Nothing here touches a database, a clock or a file: the workflow service
// loads the facts, asks these functions, and writes what they decide. The
// request lifecycle is the table `transitions` below, in one place; the
// state diagram in libtrevor/README.md is generated from it
// (state_diagram_mermaid).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trevor/enums.hpp"
#include "trevor/export.hpp"
#include "trevor/model.hpp"
#include "trevor/uuid.hpp"

namespace trevor {

/// What someone asks the workflow to do to a request.
enum class operation {
  create,
  add_object,
  add_slot,        // ingress: an object whose bytes arrive later
  confirm_upload,  // ingress: the slot's bytes arrived
  replace_object,
  edit_metadata,
  submit,
  start_agent_review,
  record_agent_review,
  fail_agent_review,  // the agent could not finish: back to SUBMITTED for another attempt
  close_round,        // the round's last required review arrived
  resubmit,
  withdraw,
  start_release,
  finish_release,
  fail_release,
  deliver,
  revoke,  // egress: a released package is withdrawn (RELEASED → REVOKED)
};

template <>
struct enum_names<operation> {
  static constexpr std::string_view what = "operation";
  static constexpr std::array<std::string_view, 18> names{"create",
                                                          "add_object",
                                                          "add_slot",
                                                          "confirm_upload",
                                                          "replace_object",
                                                          "edit_metadata",
                                                          "submit",
                                                          "start_agent_review",
                                                          "record_agent_review",
                                                          "fail_agent_review",
                                                          "close_round",
                                                          "resubmit",
                                                          "withdraw",
                                                          "start_release",
                                                          "finish_release",
                                                          "fail_release",
                                                          "deliver",
                                                          "revoke"};
};

/// Who may perform a transition (the "Who" of each transition).
enum class party {
  contributor,  // egress: a researcher on the project; ingress: tre_admin or a senior checker on it
  owner_or_admin,  // the request's owner, or tre_admin
  agent,           // the automated reviewer's identity
  system,          // the library itself, as a consequence of another operation
  admin,           // tre_admin
};

template <>
struct enum_names<party> {
  static constexpr std::string_view what = "party";
  static constexpr std::array<std::string_view, 5> names{"contributor", "owner_or_admin", "agent",
                                                         "system", "admin"};
};

/// Which requests a transition applies to.
enum class direction_scope { both, egress_only, ingress_only };

struct transition_rule {
  std::optional<request_status> from;  // nullopt: the request is being created
  request_status to;
  operation op;
  party who;
  direction_scope scope = direction_scope::both;
  std::string_view when;           // which of several targets of one (from, op) applies
  std::string_view preconditions;  // checked by the workflow service; for the docs
};

// clang-format off
/// The request lifecycle. Anything not listed is an invalid
/// transition and changes nothing.
inline constexpr std::array<transition_rule, 26> transitions{{
  {std::nullopt, request_status::draft, operation::create, party::contributor, direction_scope::both, "", "project active"},
  {request_status::draft, request_status::draft, operation::add_object, party::contributor, direction_scope::both, "", ""},
  {request_status::draft, request_status::draft, operation::add_slot, party::contributor, direction_scope::ingress_only, "", ""},
  {request_status::draft, request_status::draft, operation::confirm_upload, party::contributor, direction_scope::ingress_only, "", "slot not yet filled"},
  {request_status::draft, request_status::draft, operation::replace_object, party::contributor, direction_scope::both, "", "object live"},
  {request_status::draft, request_status::draft, operation::edit_metadata, party::contributor, direction_scope::both, "", "lock_version current"},
  {request_status::draft, request_status::submitted, operation::submit, party::owner_or_admin, direction_scope::both, "agent on", ">= 1 live object; every ingress slot confirmed"},
  {request_status::draft, request_status::human_review, operation::submit, party::owner_or_admin, direction_scope::both, "agent off", ">= 1 live object; every ingress slot confirmed"},
  {request_status::submitted, request_status::agent_review, operation::start_agent_review, party::agent, direction_scope::both, "", ""},
  {request_status::submitted, request_status::agent_review, operation::record_agent_review, party::agent, direction_scope::both, "first step: review starts", ""},
  {request_status::agent_review, request_status::human_review, operation::record_agent_review, party::agent, direction_scope::both, "", "no agent review in the round yet"},
  {request_status::agent_review, request_status::submitted, operation::fail_agent_review, party::system, direction_scope::both, "", "failure recorded as request.agent_review_failed"},
  {request_status::human_review, request_status::approved, operation::close_round, party::system, direction_scope::both, "outcome approved", "required reviews in the round"},
  {request_status::human_review, request_status::changes_requested, operation::close_round, party::system, direction_scope::both, "outcome changes requested", "required reviews in the round"},
  {request_status::human_review, request_status::rejected, operation::close_round, party::system, direction_scope::both, "outcome rejected", "required reviews in the round"},
  {request_status::changes_requested, request_status::changes_requested, operation::replace_object, party::contributor, direction_scope::both, "", "object CHANGES_REQUESTED or REJECTED"},
  {request_status::changes_requested, request_status::changes_requested, operation::edit_metadata, party::contributor, direction_scope::both, "", "lock_version current"},
  {request_status::changes_requested, request_status::submitted, operation::resubmit, party::owner_or_admin, direction_scope::both, "agent on", "no live object CHANGES_REQUESTED; >= 1 PENDING object"},
  {request_status::changes_requested, request_status::human_review, operation::resubmit, party::owner_or_admin, direction_scope::both, "agent off", "no live object CHANGES_REQUESTED; >= 1 PENDING object"},
  {request_status::draft, request_status::withdrawn, operation::withdraw, party::owner_or_admin, direction_scope::both, "", ""},
  {request_status::changes_requested, request_status::withdrawn, operation::withdraw, party::owner_or_admin, direction_scope::both, "", ""},
  {request_status::approved, request_status::releasing, operation::start_release, party::admin, direction_scope::egress_only, "", ">= 1 APPROVED object; checksums verified"},
  {request_status::releasing, request_status::released, operation::finish_release, party::system, direction_scope::egress_only, "", ""},
  {request_status::releasing, request_status::approved, operation::fail_release, party::system, direction_scope::egress_only, "", "failure recorded as request.release_failed"},
  {request_status::approved, request_status::released, operation::deliver, party::admin, direction_scope::ingress_only, "", ">= 1 APPROVED object"},
  {request_status::released, request_status::revoked, operation::revoke, party::admin, direction_scope::egress_only, "", "a reason; the package is kept, its link refused"},
}};
// clang-format on

/// Whether a rule of scope `s` applies to requests of direction `d`.
constexpr bool in_scope(direction_scope s, direction d) noexcept {
  return s == direction_scope::both ||
         (s == direction_scope::egress_only) == (d == direction::egress);
}

/// The first rule of `op` for requests of direction `d` — every row of one
/// operation names the same party, so this says who may perform it —;
/// nullptr when `op` does not apply to them.
TREVOR_EXPORT const transition_rule* first_rule(operation op, direction d) noexcept;

/// The rule for (from, op, d) that leads to `to`; nullptr when none does.
TREVOR_EXPORT const transition_rule* find_transition(std::optional<request_status> from,
                                                     operation op, direction d,
                                                     request_status to) noexcept;

/// Every target reachable from `from` by `op` for a request of direction `d`.
TREVOR_EXPORT std::vector<request_status> targets(std::optional<request_status> from, operation op,
                                                  direction d);

/// find_transition(), or error(invalid_transition) naming the current status,
/// the operation and the statuses it would need.
TREVOR_EXPORT const transition_rule& require_transition(request_status from, operation op,
                                                        direction d, request_status to);

/// Terminal request states: the workflow is over. Only the revocation of
/// an egress release (RELEASED → REVOKED) follows one; REVOKED is final.
constexpr bool is_terminal(request_status s) noexcept {
  return s == request_status::released || s == request_status::rejected ||
         s == request_status::withdrawn || s == request_status::revoked;
}

/// Whether entering `s` sets closed_at (APPROVED, REJECTED, WITHDRAWN; kept
/// through RELEASING and RELEASED).
constexpr bool stamps_closed_at(request_status s) noexcept {
  return s == request_status::approved || s == request_status::rejected ||
         s == request_status::withdrawn;
}

/// Allowed object state changes: review outcomes move PENDING, APPROVED,
/// CHANGES_REQUESTED and REJECTED among themselves; replacing moves any of
/// them to SUPERSEDED, which is final.
constexpr bool object_transition_allowed(object_state from, object_state to) noexcept {
  return from != object_state::superseded && from != to &&
         (to != object_state::pending || from == object_state::pending);
}

/// The audit event type of a request status change caused by `op`
/// ("request.submitted", "request.approved", ...).
TREVOR_EXPORT std::string_view status_event_type(operation op, request_status to) noexcept;

/// The state diagram of `transitions` in Mermaid syntax (stateDiagram-v2).
TREVOR_EXPORT std::string state_diagram_mermaid();

// ---------------------------------------------------------------- actors

/// Project roles as a set.
struct role_set {
  bool researcher = false;
  bool output_checker = false;
  bool senior_checker = false;
  bool any_checker() const noexcept { return output_checker || senior_checker; }
  bool any() const noexcept { return researcher || any_checker(); }
};

/// What the policy needs to know about whoever asks.
struct actor_facts {
  bool is_agent = false;  // the automated reviewer
  bool tre_admin = false;
  bool auditor = false;   // read-only: sees every request, acts as no party
  bool is_owner = false;  // of the request in question
  role_set roles;         // on the request's project
};

/// Whether `a` counts as `who` for a request of direction `d`.
TREVOR_EXPORT bool acts_as(party who, const actor_facts& a, direction d) noexcept;

/// Whether `a` may see the request (and so learn that it exists): members of
/// its project, tre_admin, auditors and the agent.
constexpr bool may_see(const actor_facts& a) noexcept {
  return a.is_agent || a.tre_admin || a.auditor || a.roles.any();
}

/// Why `a` may not download the objects of a request it can see, or nullopt
/// when it may: the project's checkers, tre_admin and the agent may; the
/// request's owner may not (whatever other roles they hold).
constexpr std::optional<std::string_view> download_refusal(const actor_facts& a) noexcept {
  if (a.is_agent) return std::nullopt;
  if (a.auditor) return "an auditor reads requests and their metadata; it may not download objects";
  if (a.is_owner) return "the request's owner may not download its objects";
  if (!a.tre_admin && !a.roles.any_checker())
    return "only the project's checkers, tre_admin and the agent may download objects";
  return std::nullopt;
}

// ---------------------------------------------------------------- reviews

/// Defaults for the two-person rule.
inline constexpr int default_required_reviews = 2;

/// A human reviewer's review as submitted.
struct human_review_input {
  review_decision decision = review_decision::approved;
  std::string summary;
  bool accepted_agent_findings = false;
  std::vector<object_decision> object_decisions;
};

/// The facts of the round under review.
struct round_facts {
  const airlock_request* request = nullptr;
  std::span<const review> reviews;         // this round's reviews so far
  std::span<const output_object> objects;  // every object of the request, all versions
  int required_reviews = default_required_reviews;
};

/// Limits on review text (bytes): long enough for any real explanation,
/// short enough that a review row stays small.
inline constexpr std::size_t max_review_summary = 20'000;
inline constexpr std::size_t max_object_feedback = 20'000;

/// Review rules 3, 4, 5 and 7 (libtrevor/README.md, "Review rules") for a human review of the
/// current round:
/// forbidden for an ineligible reviewer (no checker role, the owner, a
/// non-senior after an escalation, tre_admin without a checker role), conflict
/// for a second review of the round by the same person, invalid_argument for
/// a malformed review (naming the field; a review that asks for changes or
/// rejects needs a non-blank summary). The request must be in HUMAN_REVIEW
/// (else invalid_transition).
TREVOR_EXPORT void check_human_review(const round_facts& round, const uuid& reviewer,
                                      const actor_facts& who, const human_review_input& input);

/// Independent review (libtrevor/README.md, "Independent review"): whether
/// the request's current round is still open, i.e. its human reviews are not
/// yet decided (SUBMITTED, AGENT_REVIEW or HUMAN_REVIEW).
constexpr bool round_open(request_status s) noexcept {
  return s == request_status::submitted || s == request_status::agent_review ||
         s == request_status::human_review;
}

/// Whether the independent-review rule can hide reviews from `a`: one of the
/// project's checkers who is not the request's owner. tre_admin, auditors,
/// the agent and the project's researchers are never subject to it.
constexpr bool reviews_independently(const actor_facts& a) noexcept {
  return !a.is_agent && !a.tre_admin && !a.auditor && !a.is_owner && a.roles.any_checker();
}

/// The reviews of `reviews` (any rounds of `request`) hidden from `viewer`:
/// while the current round is open and `viewer` (subject to the rule) has
/// not reviewed it, the other humans' reviews of that round. Empty when the
/// round is closed, the viewer reviewed it, or the rule does not apply. The
/// agent's review is never hidden (it advises everyone).
TREVOR_EXPORT std::vector<uuid> hidden_reviews(const airlock_request& request,
                                               std::span<const review> reviews, const uuid& viewer,
                                               const actor_facts& a);

/// What closing a round does.
struct round_outcome {
  request_status to = request_status::approved;
  /// Live objects whose state changes, with their new state.
  std::vector<std::pair<uuid, object_state>> object_changes;
};

/// Rules 2, 6 and 7: nullopt while the round is still open; otherwise the
/// outcome decided by the human reviews (the agent never vetoes) and each
/// live object's new state (the strictest human decision on it, from each
/// human review's object_decisions).
TREVOR_EXPORT std::optional<round_outcome> close_round(const round_facts& round);

/// Parses the per-object decisions of a human review's findings JSON (as the
/// workflow stores them): [{"object_id", "decision", "feedback"}], skipping
/// entries it cannot read. The rules do not use it: the store reads a stored
/// review's findings into review::object_decisions, and malformed stored
/// findings are an error there.
TREVOR_EXPORT std::vector<object_decision> parse_object_decisions(std::string_view findings_json);

}  // namespace trevor
