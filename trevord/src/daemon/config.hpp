#pragma once
// trevord's configuration, read once from the environment at start-up.
// Every variable and its default is listed in trevord/README.md ("Configuration").

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "trevor/environment.hpp"
#include "trevor/notifier.hpp"
#include "trevor/sdc.hpp"

namespace trevord {

struct config {
  trevor::environment env = trevor::environment::development;
  std::string database_url;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  unsigned threads = 1;
  std::size_t db_pool_size = 8;
  bool auto_migrate = true;
  bool dev_auth_bypass = false;
  std::string log_level = "info";
  /// How long a drain (SIGTERM) waits for requests in flight.
  std::chrono::seconds drain_timeout{20};

  // Authentication (trevord/README.md, "Authentication").
  std::string oidc_issuer;
  std::string oidc_audience;
  std::string jwks_file;
  std::string jwks_url;

  // The workflow's options.
  int required_reviews = 2;
  bool agent_review = false;  // TREVOR_AGENT_REVIEW=external
  long stuck_hours = 72;
  /// TREVOR_INDEPENDENT_REVIEW: checkers do not see each other's reviews of
  /// an open round before recording their own.
  bool independent_review = true;
  std::int64_t max_upload_bytes = std::int64_t{500} * 1024 * 1024;
  std::string storage_dir = "./trevor-data";

  // Release, delivery and their links (trevord/README.md, "Release and delivery").
  std::string link_secret;  // TREVOR_LINK_SECRET; required outside development/test
  std::string public_url;   // TREVOR_PUBLIC_URL; default http://{host}:{port}
  long release_link_hours = 24 * 7;
  long delivery_link_hours = 24;
  long upload_link_hours = 24;
  long link_warning_hours = 24;
  long release_timeout_minutes = 60;
  /// A RELEASING request whose release has not beaten for this long is
  /// returned by the sweep (the holder beats every sixth of it, at most 10 s).
  long release_heartbeat_seconds = 60;
  /// TREVOR_RELEASE_LICENSE: what a release package states as its licence
  /// (a URL, or text); empty: not licensed for reuse.
  std::string release_license;
  /// TREVOR_SWEEP_SECONDS: how often the daemon runs the sweeps (stuck
  /// requests, expiring links, interrupted releases); 0 turns them off.
  long sweep_seconds = 300;

  // HTTP limits, each a named default with its reason in config.cpp.
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint64_t max_json_body_bytes = 1024 * 1024;
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds write_timeout{30};
  std::chrono::seconds idle_timeout{60};
  std::size_t max_in_flight = 1024;
  /// TREVOR_TRANSFER_MIN_BYTES_PER_SECOND: a body (upload) or download must
  /// average at least this since it began, once transfer_grace has passed;
  /// 0 turns the floor off.
  std::uint64_t transfer_min_rate = 4096;
  std::chrono::seconds transfer_grace{30};
  /// TREVOR_MAX_CONNECTIONS: open client connections at most; 0 derives it
  /// from the file limit (server.cpp).
  std::size_t max_connections = 0;
  /// Uploads one authenticated user may have in progress at once (429 beyond).
  std::size_t max_uploads_per_user = 4;

  // The verifiable audit trail (trevord/README.md, "Audit trail").
  /// TREVOR_AUDIT_ORIGIN: the log's name in its checkpoints.
  std::string audit_origin = "trevor.local/audit";
  /// TREVOR_AUDIT_SIGNING_KEY: the file holding the signer key text; empty
  /// outside development/test is refused by check_serve_config().
  std::string audit_signing_key_file;
  /// The signer key text read from that file (validated); empty when not set.
  std::string audit_signer_key;
  /// TREVOR_AUDIT_SEAL_SECONDS: how often the sealer runs; 0 turns it off.
  long audit_seal_seconds = 1;
  /// TREVOR_AUDIT_CHECKPOINT_FILE: every signed checkpoint appended there too.
  std::string audit_checkpoint_file;
  // The built-in agent (trevord/README.md, "The agents").
  /// TREVOR_AGENT_REVIEW=builtin: the daemon reviews submitted requests
  /// itself (agent_review is then true as well: submissions wait in
  /// SUBMITTED for the agent).
  bool builtin_agent = false;
  /// TREVOR_SDC_POLICY: the policy file read at start (empty: the defaults).
  std::string sdc_policy_file;
  trevor::sdc::policy_config sdc_policy;
  /// TREVOR_AGENT_TIMEOUT_SECONDS: a review left in AGENT_REVIEW longer is
  /// returned by the sweep as an interrupted attempt.
  std::chrono::seconds agent_timeout{300};
  /// TREVOR_AGENT_MAX_ATTEMPTS: failed attempts before the agent escalates.
  int agent_max_attempts = 3;

  // Notification delivery (trevord/README.md, "Notification delivery").
  /// TREVOR_SMTP_URL: e-mail is sent when set (with TREVOR_SMTP_FROM).
  std::string smtp_url;
  std::string smtp_from;
  std::string smtp_user;
  /// Read from TREVOR_SMTP_PASSWORD_FILE at start.
  std::string smtp_password;
  trevor::smtp_tls smtp_tls = trevor::smtp_tls::required;
  /// TREVOR_WEBHOOK_URL: webhooks are posted when set (with a secret).
  std::string webhook_url;
  /// TREVOR_WEBHOOK_SECRET, or the content of TREVOR_WEBHOOK_SECRET_FILE.
  std::string webhook_secret;
  /// TREVOR_NOTIFY_POLL_SECONDS: how often the notifier looks for work
  /// (besides the nudge after every change made over the API).
  std::chrono::milliseconds notify_poll{5000};
  int notify_max_attempts = 10;
  std::chrono::milliseconds notify_backoff{30'000};
  std::chrono::milliseconds notify_max_backoff{3'600'000};
  std::chrono::milliseconds notify_timeout{30'000};
  long notify_max_age_hours = 24;

  bool jwt_configured() const { return !jwks_file.empty() || !jwks_url.empty(); }
};

/// Reads the configuration through `getenv` (injectable for tests).
/// Throws trevor::error(invalid_argument) listing every missing or invalid
/// setting, one line each, each naming its variable.
config load_config(const std::function<std::optional<std::string>(const char*)>& getenv);

/// What serving needs beyond load_config() (the migrate commands do not):
/// outside development and test, the identity provider's keys and the link
/// secret. Throws like load_config().
void check_serve_config(const config& c);

/// load_config() and check_serve_config() in one: every problem of both in
/// one error.
config load_serve_config(const std::function<std::optional<std::string>(const char*)>& getenv);

/// The process environment.
std::optional<std::string> process_env(const char* name);

}  // namespace trevord
