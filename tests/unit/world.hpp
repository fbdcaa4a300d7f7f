#pragma once
// A small TRE for workflow tests: a fresh database on the engine under test,
// a blob store in a temporary directory, an admin, two researchers, two
// output checkers, a senior checker and an outsider, and one project.

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "support.hpp"
#include "trevor/trevor.hpp"

namespace trevor::test {

/// A reader that yields `content` in chunks of at most `chunk` bytes.
byte_reader bytes_of(std::string content, std::size_t chunk = 7);

struct world {
  explicit world(workflow_options options = {}, bool sqlite_file = false,
                 std::size_t pool_size = 4);

  fresh_database fdb;
  temp_dir blob_dir;
  filesystem_blob_store blobs;
  directory dir;
  workflow flow;
  inbox box;

  actor admin, r1, r2, c1, c2, s1, outsider;
  project proj;
  /// The built-in agent's credential, and the agent as the actor of reads.
  agent_credential agent = agent_credential::builtin();
  actor agent_reader = actor::of_agent(agent);

  user make_user(const std::string& username);
  actor actor_for(const std::string& username, bool tre_admin = false);

  /// A DRAFT egress request by r1 with `objects` uploaded objects.
  airlock_request draft(int objects = 1, const std::string& title = "Regression tables");
  output_object upload(const actor& who, const uuid& request_id, const std::string& filename,
                       const std::string& content = "a,b\n1,2\n");
  /// draft() then submit: HUMAN_REVIEW with the agent off, SUBMITTED with it on.
  airlock_request submitted(int objects = 1);
  /// The agent's review of the request's current round (SUBMITTED or
  /// AGENT_REVIEW → HUMAN_REVIEW), with no findings.
  review agent_review(const uuid& request_id, review_decision decision,
                      const std::string& summary = "automated checks");

  /// The request's audit trail, oldest first.
  std::vector<audit_event> trail(const uuid& request_id);
  /// Rows of a table (raw count).
  long long rows(const std::string& table);
  /// Files in the blob store (excluding directories).
  std::size_t blob_files();
  /// Notifications of `event_type` about `request_id` in `who`'s inbox.
  long long notified(const actor& who, const std::string& event_type, const uuid& request_id);
};

/// An audit event's payload, parsed (PostgreSQL's jsonb reorders keys).
boost::json::object payload_of(const audit_event& e);

/// A human review with one decision and no per-object decisions.
human_review_input decide(review_decision d, const std::string& summary = "checked");

}  // namespace trevor::test
