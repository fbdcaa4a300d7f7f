#pragma once
// Who is calling: the bearer token turned into a libtrevor actor.
//
// With TREVOR_JWKS_FILE or TREVOR_JWKS_URL the token is a JWT from the TRE's
// identity provider, verified locally (jwt.hpp). With TREVOR_DEV_AUTH_BYPASS
// (development and test only) the token text names the user instead:
// `dev:<username>[:<role>,...]`; any other text containing "admin" is
// dev-bypass-admin with tre_admin, anything else dev-bypass-user.
//
// A person's claims are written to their user row (directory::upsert_user)
// the first time they are seen and whenever a claim changes; the mapping from
// claims to user id is cached so that an unchanged identity costs no database
// round trip. Whether the user is active is checked by every libtrevor
// operation, never cached here.
//
// Thread-safety: authenticate() may be called from any thread; it may block
// (database, JWKS download) and so runs on a worker thread.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/jwt.hpp"
#include "daemon/config.hpp"
#include "trevor/directory.hpp"

namespace trevord {

/// The realm role of the agent's service account.
inline constexpr std::string_view agent_role = "trevor_agent";
inline constexpr std::string_view admin_role = "tre_admin";
/// The realm role of a read-only auditor (trevor::actor::auditor).
inline constexpr std::string_view auditor_role = "auditor";

struct principal {
  std::string subject;
  /// A person, or the agent's service account (realm role trevor_agent:
  /// actor.agent is set, named by the token's preferred_username or subject).
  trevor::actor actor;
  std::vector<std::string> realm_roles;
  bool agent() const noexcept { return actor.is_agent(); }
};

class authenticator {
 public:
  /// Loads the JWKS file (throws trevor::error(invalid_argument) when it is
  /// missing or malformed) or, for a URL, tries a first download.
  authenticator(const config& cfg, trevor::directory& users);

  /// The principal of an `Authorization` header value. Throws http_error 401
  /// naming what is wrong.
  principal authenticate(std::string_view authorization);

 private:
  principal from_claims(const trevor::identity_claims& claims, std::vector<std::string> roles);
  principal dev_principal(std::string_view token);
  std::shared_ptr<const key_set> keys_for(std::string_view token);
  void reload_file_if_changed();
  void fetch_url();

  const config& cfg_;
  trevor::directory& users_;
  token_rules rules_;

  std::mutex keys_mutex_;
  std::shared_ptr<const key_set> keys_;
  std::chrono::steady_clock::time_point next_file_check_{};
  std::chrono::steady_clock::time_point next_url_fetch_{};
  std::filesystem::file_time_type file_mtime_{};

  std::mutex users_mutex_;
  std::unordered_map<std::string, trevor::uuid> user_ids_;  // claims fingerprint → id
};

}  // namespace trevord
