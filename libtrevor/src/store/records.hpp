#pragma once
// release_records and delivery_records (internal repository). Runs in the
// caller's transaction.

#include <optional>

#include "db/connection.hpp"
#include "trevor/model.hpp"

namespace trevor::detail {

/// Throws conflict when the request already has a release record.
release_record insert_release_record(connection& c, const release_record& r);
std::optional<release_record> find_release_record(connection& c, const uuid& request_id);
/// Records that the expiry warning went out, once: nullopt when it already had.
std::optional<release_record> mark_release_expiry_warned(connection& c, const uuid& id);

delivery_record insert_delivery_record(connection& c, const delivery_record& d);
std::optional<delivery_record> find_delivery_record(connection& c, const uuid& request_id);

}  // namespace trevor::detail
