#pragma once
// The libtrevor services the daemon runs, built once from the configuration:
// the blob store, the audit trail, the workflow, the directory, the inbox and
// the dashboard.
//
// The daemon owns them; the API's handlers and the daemon's background jobs
// (the sweeps) call them. Every service is thread-safe: it takes a pooled
// connection per operation.

#include <memory>

#include "daemon/config.hpp"
#include "trevor/agent.hpp"
#include "trevor/audit_trail.hpp"
#include "trevor/blob_store.hpp"
#include "trevor/dashboard.hpp"
#include "trevor/database.hpp"
#include "trevor/directory.hpp"
#include "trevor/inbox.hpp"
#include "trevor/notifier.hpp"
#include "trevor/workflow.hpp"

namespace trevord {

/// The workflow's options as the configuration sets them.
trevor::workflow_options workflow_options_of(const config& cfg);

/// The built-in agent's options as the configuration sets them.
trevor::sdc_agent_options agent_options_of(const config& cfg);

/// The notifier's options (e-mail, webhook, retries) as the configuration
/// sets them.
trevor::notifier_options notifier_options_of(const config& cfg);

struct services {
  /// `options`: the workflow's, workflow_options_of(cfg) when serving (tests
  /// may refine them, e.g. link lifetimes shorter than the variables' hours).
  services(const config& cfg, trevor::database db, trevor::workflow_options options);

  trevor::database db;
  std::unique_ptr<trevor::filesystem_blob_store> blobs;
  /// The verifiable audit trail (daemon/audit.hpp): sealed by a background
  /// job, proofs over /audit/*, audit-proof.json in release packages (the
  /// workflow's options point at it unless they name a trail already).
  std::unique_ptr<trevor::audit_trail> audit;
  trevor::workflow workflow;
  trevor::directory directory;
  trevor::inbox inbox;
  trevor::dashboard dashboard;
  /// The built-in agent: its worker runs only with TREVOR_AGENT_REVIEW=builtin
  /// (daemon.cpp); its preview serves /requests/{id}/sdc-preview in every mode.
  trevor::sdc_agent agent;
  /// Delivers notification rows by e-mail and webhook: its job runs when a
  /// channel is configured (daemon.cpp); its read model serves
  /// /admin/notification-deliveries in every case.
  std::unique_ptr<trevor::notifier> notifier;
};

}  // namespace trevord
