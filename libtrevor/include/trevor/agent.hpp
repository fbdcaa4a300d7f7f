#pragma once
// trevor::sdc_agent — the built-in agent (TREVOR_AGENT_REVIEW=builtin): the
// automated first reviewer of every submitted request, running the SDC
// checks of trevor/sdc.hpp. A library component: trevord runs it on its
// worker pool, and an embedding program can run it without trevord.
//
// Life cycle (libtrevor/README.md, "The built-in agent"):
//  - The database is the queue. A request in SUBMITTED is work; the agent
//    claims it with the conditional transition SUBMITTED → AGENT_REVIEW
//    (request.agent_review_started), so of several agents, in one process or
//    in several daemons, exactly one wins.
//  - It reads every live object of the round from the blob store, runs the
//    checks with the project's effective policy, and records the agent review
//    through review_service::record_agent_review (→ HUMAN_REVIEW, the
//    checkers notified).
//  - Never stuck: a check that throws or an unreadable blob is recorded as
//    request.agent_review_failed (reason, attempt) and the request goes back
//    to SUBMITTED, to be tried again after a back-off that doubles with each
//    attempt; a review interrupted by a dead worker is returned by
//    sweep_service::interrupted_agent_reviews(); after `max_attempts` failed
//    attempts the agent records an `escalated` review whose findings say why
//    it could not check, so senior checkers take over.
//
// Supporting objects are not checked. An object named like the evidence
// table of another object of the request (sdc::evidence_filename: "t.csv" →
// "t.evidence.csv"; normally a supporting object) is passed to that object's
// checks as its evidence and is not checked as an output itself.
//
// Thread-safe: run_once() may be called from several threads at once.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trevor/actor.hpp"
#include "trevor/blob_store.hpp"
#include "trevor/directory.hpp"
#include "trevor/export.hpp"
#include "trevor/sdc.hpp"
#include "trevor/workflow.hpp"

namespace trevor {

struct sdc_agent_options {
  agent_credential credential = agent_credential::builtin();
  /// Failed attempts of one round before the agent escalates it
  /// (TREVOR_AGENT_MAX_ATTEMPTS).
  int max_attempts = 3;
  /// Wait before the second attempt; doubled for each further one.
  std::chrono::milliseconds backoff{2000};
};

/// What the agent would record for a request (or did).
struct sdc_assessment {
  review_decision decision = review_decision::approved;
  std::string summary;
  std::string findings_json;
  std::vector<sdc::object_findings> objects;
  std::string policy_id;
};

/// What one claimed request came to.
struct sdc_agent_outcome {
  uuid request_id;
  /// The review recorded (the agent's decision, or `escalated` after the
  /// last failed attempt); nullopt when this attempt failed and the request
  /// went back to SUBMITTED.
  std::optional<review> recorded;
  /// Why the attempt failed; empty when it did not.
  std::string failure;
  int attempt = 0;  // failed attempts of the round including this one
};

class TREVOR_EXPORT sdc_agent {
 public:
  /// `flow` and `blobs` (the workflow's blob store) must outlive the agent.
  sdc_agent(workflow& flow, blob_store& blobs, directory& people, sdc_agent_options options = {});
  ~sdc_agent();
  sdc_agent(const sdc_agent&) = delete;
  sdc_agent& operator=(const sdc_agent&) = delete;

  /// Claims and reviews up to `limit` SUBMITTED requests (oldest first,
  /// skipping those still in their back-off); returns what happened to each
  /// one it claimed. Requests another agent claimed first are skipped.
  std::vector<sdc_agent_outcome> run_once(std::size_t limit = 8);

  /// The assessment of the request's live objects as the agent would record
  /// it now; records nothing and changes nothing. For whoever may read the
  /// request (review_service's readers).
  sdc_assessment preview(const actor& who, const uuid& request_id);

  /// The effective policy of a project (workflow_options::sdc_policy).
  sdc::policy policy_for(const uuid& project_id) const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace trevor
