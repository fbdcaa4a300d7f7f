#pragma once
// The signed links of the airlock: who used one (for the audit trail), the
// paths they point at, and an ingress slot's upload link. A link's token is
// its only credential (trevor/signed_link.hpp makes and checks tokens).

#include <string>
#include <string_view>

#include "trevor/export.hpp"
#include "trevor/time.hpp"
#include "trevor/uuid.hpp"

namespace trevor {

/// Who used a signed link, for the audit trail (the link is the only
/// credential; there is no user).
struct link_client {
  std::string address;     // the client's address as the server saw it
  std::string user_agent;  // at most 255 bytes are kept
};

struct upload_link {
  uuid object_id;
  std::string upload_url;
  timestamp expires_at;
};

/// The paths links point at (trevord serves them; the token is the only
/// credential). Prefixed with workflow_options::public_url.
TREVOR_EXPORT std::string release_download_path(const uuid& request_id, std::string_view token);
TREVOR_EXPORT std::string delivered_object_path(const uuid& request_id, const uuid& object_id,
                                                std::string_view token);
TREVOR_EXPORT std::string slot_upload_path(const uuid& request_id, const uuid& object_id,
                                           std::string_view token);

}  // namespace trevor
