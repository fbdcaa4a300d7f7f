#pragma once
// reviews (internal repository; rows are immutable). Runs in the caller's transaction.

#include <optional>
#include <vector>

#include "db/connection.hpp"
#include "trevor/model.hpp"

namespace trevor::detail {

/// Throws conflict when this reviewer (or the agent) already reviewed the round.
review insert_review(connection& c, const review& r);
std::optional<review> find_review(connection& c, const uuid& id);
/// Reviews of a request, oldest first; of one round only when given.
std::vector<review> list_reviews(connection& c, const uuid& request_id,
                                 std::optional<std::int64_t> round);

}  // namespace trevor::detail
