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

/// A new download link for release `id`; the expiry warning becomes due
/// again. nullopt for an unknown id.
std::optional<release_record> replace_release_link(connection& c, const uuid& id,
                                                   const std::string& download_url,
                                                   timestamp url_expires_at);

struct expiring_release {
  release_record record;
  uuid project_id;
  uuid owner_id;
  std::string title;
};
/// Releases not yet warned whose link expires in (now, until], soonest first.
std::vector<expiring_release> releases_expiring(connection& c, timestamp now, timestamp until);

delivery_record insert_delivery_record(connection& c, const delivery_record& d);
std::optional<delivery_record> find_delivery_record(connection& c, const uuid& request_id);

}  // namespace trevor::detail
