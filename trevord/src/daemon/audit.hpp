#pragma once
// The daemon's verifiable audit trail (trevor::audit_trail, libtrevor/README.md
// "Verifiable audit trail"): the trail's options as the configuration sets
// them — the signer key among them — and the sealer, a background job.
//
// The signer key is TREVOR_AUDIT_SIGNING_KEY's. In development and test
// without one, a key is generated: kept beside a SQLite database file as
// `<file>.audit-key` (mode 0600, reused by the next start), or in memory for
// `:memory:` and PostgreSQL (a new key each start; checkpoints of earlier
// starts then verify only with their own key).

#include <optional>
#include <string>

#include "daemon/config.hpp"
#include "trevor/audit_trail.hpp"

namespace trevord {

class metrics;

/// The signer key text the daemon signs checkpoints with (see above);
/// nullopt outside development and test without TREVOR_AUDIT_SIGNING_KEY
/// (check_serve_config() refuses to serve then). Throws trevor::error when a
/// development key file exists but cannot be read or is not a signer key.
std::optional<std::string> audit_signer_key_of(const config& cfg);

/// The trail's options: origin, signer key (audit_signer_key_of), checkpoint file.
trevor::audit_trail_options audit_options_of(const config& cfg);

/// One run of the sealer (the background job "audit_seal"): seals every
/// committed event, logs a new checkpoint as an `audit.checkpoint` line and
/// counts it; a conflict (the stored tree no longer extends the last
/// checkpoint) is logged as an error and counted as a seal failure, as is
/// any other failure (logged as a warning). Never throws; /readyz is not
/// affected.
void seal_audit_trail(trevor::audit_trail& trail, metrics& m);

}  // namespace trevord
