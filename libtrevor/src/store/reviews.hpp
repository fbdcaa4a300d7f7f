#pragma once
// reviews (internal repository; rows are immutable). Runs in the caller's transaction.

#include <optional>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "trevor/model.hpp"

namespace trevor::detail {

/// The findings column of a human review: its per-object decisions as a
/// JSON array of {"object_id", "decision", "feedback"}. Reading a human
/// review parses it back into review::object_decisions; a malformed stored
/// value is error(internal).
std::string findings_json_of(const std::vector<object_decision>& decisions);

/// Throws conflict when this reviewer (or the agent) already reviewed the round.
review insert_review(connection& c, const review& r);
std::optional<review> find_review(connection& c, const uuid& id);
/// Reviews of a request, oldest first; of one round only when given.
std::vector<review> list_reviews(connection& c, const uuid& request_id,
                                 std::optional<std::int64_t> round);

}  // namespace trevor::detail
