#pragma once
// airlock_requests (internal repository). Runs in the caller's transaction.

#include <optional>
#include <vector>

#include "db/connection.hpp"
#include "trevor/model.hpp"

namespace trevor::detail {

/// Inserts a new request in DRAFT, round 1.
airlock_request insert_request(connection& c, const airlock_request& r);
std::optional<airlock_request> find_request(connection& c, const uuid& id);

struct request_filter {
  std::optional<uuid> project_id;
  std::optional<request_status> status;
  /// Only requests of projects this user belongs to (any role).
  std::optional<uuid> member_id;
};
/// Newest first.
std::vector<airlock_request> list_requests(connection& c, const request_filter& f);

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

}  // namespace trevor::detail
