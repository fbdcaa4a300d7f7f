#include "daemon/services.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "daemon/audit.hpp"

namespace trevord {

trevor::workflow_options workflow_options_of(const config& cfg) {
  trevor::workflow_options o;
  o.required_reviews = cfg.required_reviews;
  o.agent_review = cfg.agent_review;
  o.max_upload_bytes = cfg.max_upload_bytes;
  o.stuck_after = std::chrono::hours(cfg.stuck_hours);
  o.independent_review = cfg.independent_review;
  o.link_secret = cfg.link_secret;
  o.public_url = cfg.public_url;
  o.release_link_ttl = std::chrono::hours(cfg.release_link_hours);
  o.delivery_link_ttl = std::chrono::hours(cfg.delivery_link_hours);
  o.upload_link_ttl = std::chrono::hours(cfg.upload_link_hours);
  o.link_warning = std::chrono::hours(cfg.link_warning_hours);
  o.release_timeout = std::chrono::minutes(cfg.release_timeout_minutes);
  o.release_heartbeat_timeout = std::chrono::seconds(cfg.release_heartbeat_seconds);
  o.release_heartbeat_interval = std::min<std::chrono::milliseconds>(
      std::chrono::seconds(10),
      std::chrono::milliseconds(cfg.release_heartbeat_seconds * 1000 / 6));
  o.release_license = cfg.release_license;
  // Packages are assembled beside the blobs (same file system, room for them).
  o.scratch_dir = std::filesystem::path(cfg.storage_dir) / ".scratch";
  // The SDC policy (the built-in agent's, and sdc-policy.json in packages).
  o.sdc_policy = cfg.sdc_policy;
  o.agent_timeout = cfg.agent_timeout;
  return o;
}

trevor::sdc_agent_options agent_options_of(const config& cfg) {
  trevor::sdc_agent_options o;
  o.max_attempts = cfg.agent_max_attempts;
  return o;
}

trevor::notifier_options notifier_options_of(const config& cfg) {
  trevor::notifier_options o;
  if (!cfg.smtp_url.empty()) {
    trevor::smtp_options m;
    m.url = cfg.smtp_url;
    m.from = cfg.smtp_from;
    m.user = cfg.smtp_user;
    m.password = cfg.smtp_password;
    m.tls = cfg.smtp_tls;
    o.email = std::move(m);
  }
  if (!cfg.webhook_url.empty())
    o.webhook = trevor::webhook_options{cfg.webhook_url, cfg.webhook_secret};
  o.public_url = cfg.public_url;
  o.max_attempts = cfg.notify_max_attempts;
  o.backoff = cfg.notify_backoff;
  o.max_backoff = cfg.notify_max_backoff;
  o.timeout = cfg.notify_timeout;
  o.max_age = std::chrono::hours(cfg.notify_max_age_hours);
  return o;
}

namespace {
trevor::workflow_options with_audit(trevor::workflow_options o, trevor::audit_trail* trail) {
  if (!o.audit) o.audit = trail;
  return o;
}
}  // namespace

services::services(const config& cfg, trevor::database d, trevor::workflow_options options)
    : db(std::move(d)),
      blobs(std::make_unique<trevor::filesystem_blob_store>(cfg.storage_dir)),
      audit(std::make_unique<trevor::audit_trail>(db, audit_options_of(cfg))),
      workflow(db, *blobs, with_audit(std::move(options), audit.get())),
      directory(db),
      inbox(db),
      dashboard(db, std::chrono::hours(cfg.stuck_hours), cfg.independent_review),
      agent(workflow, *blobs, directory, agent_options_of(cfg)),
      notifier(std::make_unique<trevor::notifier>(db, notifier_options_of(cfg))) {}

}  // namespace trevord
