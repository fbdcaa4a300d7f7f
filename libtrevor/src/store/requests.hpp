#pragma once
// airlock_requests (internal repository). Runs in the caller's transaction.

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "db/connection.hpp"
#include "trevor/model.hpp"
#include "trevor/policy.hpp"

namespace trevor::detail {

/// Inserts a new request in DRAFT, round 1.
airlock_request insert_request(connection& c, const airlock_request& r);
std::optional<airlock_request> find_request(connection& c, const uuid& id);

struct request_filter {
  std::optional<uuid> project_id;
  std::optional<request_status> status;
  /// Only requests of projects this user belongs to (any role).
  std::optional<uuid> member_id;
  /// Keyset: only requests older than this (created_at, id) in list order.
  std::optional<std::pair<timestamp, uuid>> before;
  /// At most this many; 0: all.
  std::size_t limit = 0;
};
/// Newest first: (created_at, id) descending.
std::vector<airlock_request> list_requests(connection& c, const request_filter& f);

/// Every status with a count of 0, in enum order (to be filled in).
std::vector<std::pair<request_status, std::int64_t>> zero_status_counts();

/// Requests per status, every status listed (zeros included), in enum order.
std::vector<std::pair<request_status, std::int64_t>> count_requests_by_status(connection& c);

/// What a status change also does to the row.
struct transition_effects {
  bool start_new_round = false;  // review_round + 1 (resubmission)
  bool stamp_submitted = false;  // submitted_at = now
  bool stamp_closed = false;     // closed_at = now
};

/// The conditional write at the heart of every transition:
///   UPDATE ... SET status = to WHERE id = ? AND status = from RETURNING ...
/// Returns the updated row, or nullopt when the request is not (or no
/// longer) in `from` — so of two concurrent transitions from the same state
/// exactly one succeeds. One statement, one round trip.
std::optional<airlock_request> transition_request(connection& c, const uuid& id,
                                                  request_status from, request_status to,
                                                  const transition_effects& effects);

/// A request together with what the workflow's rules need to know about it
/// and about one actor, read in one statement (one round trip).
struct request_facts {
  airlock_request request;
  project_status project = project_status::active;
  std::optional<bool> actor_active;  // nullopt: no user with the actor's id
  role_set roles;                    // the actor's roles on the request's project
  long long live_objects = 0;
  long long pending_objects = 0;
  long long changes_requested_objects = 0;
  long long unconfirmed_slots = 0;  // live objects still without bytes
  std::vector<uuid> checkers;       // users with a checker role on the project
  std::vector<uuid> researchers;    // active users with the researcher role on the project
};

/// The facts of request `id` for `actor_id` (nil for the agent or the
/// system). With `lock`, also takes the request's row lock until the end of
/// the transaction (PostgreSQL; SQLite's write transaction already excludes
/// other writers). Facts read in the locking statement may predate a
/// concurrent transaction the lock waited for: read anything that must
/// include it in a later statement.
std::optional<request_facts> load_request_facts(connection& c, const uuid& id, const uuid& actor_id,
                                                bool lock);

/// The request with only what deciding whether `actor_id` may read it needs
/// (actor_active, roles); the other facts keep their defaults. A lighter
/// statement than load_request_facts() for the read paths.
std::optional<request_facts> load_request_for_reader(connection& c, const uuid& id,
                                                     const uuid& actor_id);

/// transition_request() returning the request's facts as of the update.
std::optional<request_facts> transition_request_facts(connection& c, const uuid& id,
                                                      request_status from, request_status to,
                                                      const transition_effects& effects,
                                                      const uuid& actor_id);

struct project_facts {
  project_status status = project_status::active;
  std::optional<bool> actor_active;
  role_set roles;
};
std::optional<project_facts> load_project_facts(connection& c, const uuid& project_id,
                                                const uuid& actor_id);

/// Requests in SUBMITTED, AGENT_REVIEW or HUMAN_REVIEW whose last status
/// change is at least `hours` old (database time) and which have no
/// request.stuck audit event since then; oldest first. With `lock`, their
/// rows are locked (PostgreSQL) — see load_request_facts().
std::vector<request_facts> stuck_requests(connection& c, long long hours, bool lock);

/// request.agent_review_failed events of the request since it was last
/// submitted or resubmitted (the attempts of the current round).
long long agent_review_failures(connection& c, const uuid& request_id);

/// The payload of the request's latest event of `event_type`, if any.
std::optional<std::string> latest_event_payload(connection& c, const uuid& request_id,
                                                std::string_view event_type);

/// A release in progress: who builds its package and when it last said so
/// (release_heartbeats, migration 0009).
struct release_heartbeat {
  uuid request_id;
  uuid release_id;
  std::string holder;  // host:pid
  timestamp beat_at;
};

/// Records `holder` as building `release_id` of the request, beating now.
/// The rows of earlier releases stay (release_heartbeats is never deleted).
void begin_release_heartbeat(connection& c, const uuid& request_id, const uuid& release_id,
                             const std::string& holder);
/// Moves the heartbeat of `release_id` to now; false when it is gone (the
/// release ended or the sweep returned the request).
bool beat_release_heartbeat(connection& c, const uuid& request_id, const uuid& release_id);
/// The heartbeat of the request's latest release attempt.
std::optional<release_heartbeat> find_release_heartbeat(connection& c, const uuid& request_id);

/// Requests in AGENT_REVIEW whose last status change is before `cutoff`,
/// oldest first.
std::vector<airlock_request> agent_reviews_before(connection& c, const timestamp& cutoff);

class write_chain;

/// insert_request() as one write of a chain (PostgreSQL: with the request's
/// audit event in one statement); the row's times are the chain's time.
void add_request(write_chain& w, const airlock_request& r);

/// transition_request() as one write of a transition's chain: must change
/// the row (else conflict, "request changed concurrently; retry").
void add_transition(write_chain& w, const uuid& id, request_status from, request_status to,
                    const transition_effects& effects);

/// What a human review needs, read in one statement that also takes the
/// request's row lock (PostgreSQL): the request's facts for `actor_id`, the
/// reviews of its current round (oldest first) and every object of the
/// request, all versions (list_objects() order). The reviews may predate a
/// transaction the lock waited for: guard the writes with
/// guard_round_reviews().
/// load_request_for_reader() and the request's live objects
/// (list_objects() order) in one statement.
struct request_read {
  request_facts facts;
  std::vector<output_object> objects;
};
std::optional<request_read> load_request_with_objects(connection& c, const uuid& id,
                                                      const uuid& actor_id);

struct review_round_read {
  request_facts facts;
  std::vector<review> reviews;
  std::vector<output_object> objects;
};
std::optional<review_round_read> load_review_round(connection& c, const uuid& id,
                                                   const uuid& actor_id);

}  // namespace trevor::detail
