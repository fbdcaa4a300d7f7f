#pragma once
// trevor::audit_trail — the verifiable audit trail on the database: the
// sealer that turns audit events into leaves of a Merkle tree, the signed
// checkpoints of that tree, proofs, and the verifier an auditor runs.
//
// Every audit event becomes exactly one leaf: the RFC 8785 canonical JSON of
// {id, seq, occurred_at, event_type, actor, request_id, project_id, payload}
// (trevor/audit_proof.hpp has the hashing, proof and checkpoint formats).
// seal() gives the committed events that have no leaf yet dense leaf indexes
// 0, 1, 2, … in seq order, stores each leaf hash and the hash of every
// complete aligned subtree, and — when a signer key is configured — signs a
// checkpoint of the new tree after proving it extends the previous
// checkpoint. One sealer runs at a time across every process sharing the
// database (an advisory lock on PostgreSQL, the write lock on SQLite); seal()
// is idempotent and off the write path: appending an event costs what it did.
// The three tables it writes are insert-only, enforced by the database like
// audit_events (schema/README.md).
//
// On PostgreSQL, events may commit out of seq order; seal() looks for
// unsealed events from a little below the highest sealed seq and, on its
// first run in a process and every `full_scan_every` runs, across the whole
// trail, so a late commit is sealed on the next run that sees it.
//
// verify() trusts nothing in the database but the audit_events rows it
// recomputes: it names the first problem it finds (a leaf whose event
// changed, an event missing from the tree or the tree's event missing, a
// checkpoint whose signature or root is wrong, a tree that does not extend a
// trusted checkpoint, an event older than the grace period left unsealed).
//
// Thread-safe; every method runs on the database's pool.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trevor/audit_proof.hpp"
#include "trevor/database.hpp"
#include "trevor/export.hpp"
#include "trevor/uuid.hpp"

namespace trevor {

struct audit_trail_options {
  /// The log's name in its checkpoints (TREVOR_AUDIT_ORIGIN).
  std::string origin = "trevor.local/audit";
  /// The signer key text (PRIVATE+KEY+…); without one seal() stores leaves
  /// and nodes but signs no checkpoint.
  std::optional<std::string> signer_key;
  /// Each signed checkpoint is appended to this file too (a copy outside the
  /// database), after the transaction that stored it committed.
  std::optional<std::filesystem::path> checkpoint_file;
  /// Events sealed per transaction (a seal() runs as many as it needs).
  std::size_t batch = 5000;
  /// Full scans for late-committed events: every this many seal() runs.
  unsigned full_scan_every = 300;
};

struct seal_result {
  std::uint64_t sealed = 0;     // leaves added by this run
  std::uint64_t tree_size = 0;  // leaves after it
  /// The checkpoint signed by this run (signed note text), if any.
  std::optional<std::string> checkpoint;
};

/// One event's place in the tree, as an auditor checks it.
struct audit_leaf_proof {
  uuid event_id;
  std::string leaf;  // the canonical leaf bytes
  inclusion_proof proof;
};

/// Everything a recipient needs to check that a request's whole history is in
/// the log: the checkpoint and, for each of the request's events (seq order),
/// its bytes, leaf index and inclusion proof in the checkpoint's tree.
struct TREVOR_EXPORT request_audit_proof {
  std::string checkpoint;  // signed note text
  std::vector<audit_leaf_proof> events;
  /// The audit-proof.json document of a release package.
  std::string json() const;
};

struct TREVOR_EXPORT audit_verification {
  std::uint64_t tree_size = 0;
  std::uint64_t events = 0;
  std::uint64_t checkpoints = 0;
  /// Empty when the trail verified; otherwise the first problem found.
  std::string problem;
  bool ok() const noexcept { return problem.empty(); }
  /// One line: the summary, or the problem.
  std::string summary() const;
};

class TREVOR_EXPORT audit_trail {
 public:
  /// Throws invalid_argument for a malformed signer key or origin.
  explicit audit_trail(database db, audit_trail_options options = {});
  ~audit_trail();
  audit_trail(const audit_trail&) = delete;
  audit_trail& operator=(const audit_trail&) = delete;

  /// Seals every committed, unsealed event and signs a checkpoint when it
  /// added leaves (see the top of this header). conflict when the stored
  /// tree no longer extends the last checkpoint (nothing is signed then).
  seal_result seal();

  /// Whether seal() signs checkpoints (a signer key was given).
  bool signs() const noexcept;

  /// The latest signed checkpoint; nullopt before the first.
  std::optional<std::string> latest_checkpoint() const;
  /// The number of sealed leaves.
  std::uint64_t size() const;

  /// The inclusion proof of `event_id` in the tree of `tree_size` leaves
  /// (default: the latest checkpoint's). not_found for an unknown event,
  /// conflict for an event not sealed yet (or not within tree_size),
  /// invalid_argument for a tree_size beyond the sealed leaves.
  audit_leaf_proof prove_inclusion(const uuid& event_id,
                                   std::optional<std::uint64_t> tree_size = std::nullopt) const;
  /// The consistency proof between two sealed tree sizes (from ≤ to).
  consistency_proof prove_consistency(std::uint64_t from, std::uint64_t to) const;
  /// The canonical leaf bytes of leaves [start, end) (at most 1000).
  std::vector<std::string> leaves(std::uint64_t start, std::uint64_t end) const;

  /// The proof of every event of `request_id` against the latest checkpoint.
  /// conflict when one of its events is not sealed yet or there is no
  /// checkpoint: seal() first.
  request_audit_proof prove_request(const uuid& request_id) const;

  /// Recomputes the trail from audit_events and checks everything stored
  /// against it and against `verifier_key`; `trusted_checkpoint` is a signed
  /// checkpoint kept outside the database. Events younger than `grace` may
  /// be unsealed.
  audit_verification verify(std::string_view verifier_key,
                            std::optional<std::string_view> trusted_checkpoint = std::nullopt,
                            std::chrono::seconds grace = std::chrono::seconds(60)) const;

 private:
  struct state;
  database db_;
  audit_trail_options options_;
  std::unique_ptr<state> state_;
};

/// Checks an audit-proof.json document (request_audit_proof::json()) with
/// only the verifier key: the checkpoint's signature, and each event's leaf
/// bytes against its inclusion proof and the checkpoint's root. Returns the
/// number of events checked; invalid_argument naming the first problem.
TREVOR_EXPORT std::size_t verify_request_audit_proof(std::string_view json,
                                                     std::string_view verifier_key);

}  // namespace trevor
