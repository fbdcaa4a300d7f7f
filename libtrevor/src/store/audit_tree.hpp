#pragma once
// audit_leaves, audit_tree_nodes, audit_checkpoints: the store of the
// verifiable audit trail (internal), used by trevor::audit_trail
// (audit/audit_trail.cpp). Schema: schema/0004_audit_tree.sql.
//
// Hashes are stored as lower-case hex. Level-0 subtrees are the leaves
// (audit_leaves); levels ≥ 1 are audit_tree_nodes.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/merkle.hpp"
#include "db/connection.hpp"
#include "trevor/audit.hpp"

namespace trevor::detail {

/// Takes the sealer's lock for the rest of the transaction: an advisory
/// transaction lock on PostgreSQL; nothing on SQLite, whose write
/// transaction already excludes every other writer.
void lock_audit_sealer(connection& c);

/// The number of leaves (max leaf_index + 1).
std::uint64_t audit_leaf_count(connection& c);
/// The highest sealed seq; 0 before the first leaf.
std::int64_t max_sealed_seq(connection& c);

/// Committed events without a leaf with seq > after_seq, in seq order, at
/// most `limit`.
std::vector<audit_event> unsealed_events(connection& c, std::int64_t after_seq, std::size_t limit);

struct new_leaf {
  std::uint64_t index = 0;
  uuid event_id;
  std::int64_t event_seq = 0;
  hash256 hash{};
};
struct new_node {
  subtree_id id;
  hash256 hash{};
};
void insert_audit_leaves(connection& c, std::span<const new_leaf> leaves);
void insert_audit_nodes(connection& c, std::span<const new_node> nodes);

/// The stored tree, read through connection `c` (inside the caller's
/// transaction, so it sees that transaction's own inserts). One statement
/// per subtree_hashes() call; internal error when a subtree is missing.
class stored_tree final : public subtree_source {
 public:
  explicit stored_tree(connection& c) : c_(c) {}
  std::vector<hash256> subtree_hashes(std::span<const subtree_id> ids) const override;

 private:
  connection& c_;
};

struct stored_checkpoint {
  std::uint64_t tree_size = 0;
  hash256 root{};
  std::string note;
};
std::optional<stored_checkpoint> latest_audit_checkpoint(connection& c);
void insert_audit_checkpoint(connection& c, const stored_checkpoint& cp);
/// Every checkpoint in tree-size order.
void for_each_audit_checkpoint(connection& c, const std::function<void(stored_checkpoint)>& fn);

/// The leaf index of an event; nullopt when it is not sealed.
std::optional<std::uint64_t> audit_leaf_index(connection& c, const uuid& event_id);
/// The event with this id, if any.
std::optional<audit_event> find_audit_event(connection& c, const uuid& event_id);
/// The events of leaves [start, end) in leaf order.
std::vector<audit_event> audit_leaf_events(connection& c, std::uint64_t start, std::uint64_t end);
/// A request's events in seq order, each with its leaf index when sealed.
std::vector<std::pair<audit_event, std::optional<std::uint64_t>>> request_audit_leaves(
    connection& c, const uuid& request_id);

/// One stored leaf as the verifier reads it: the event is nullopt when the
/// row it names is gone.
struct stored_leaf {
  std::uint64_t index = 0;
  uuid event_id;
  std::int64_t event_seq = 0;
  std::string hash_hex;
  std::optional<audit_event> event;
};
/// Every leaf in leaf order, streamed.
void for_each_audit_leaf(connection& c, const std::function<void(const stored_leaf&)>& fn);
/// Every stored node (level ≥ 1), streamed.
void for_each_audit_node(connection& c, const std::function<void(const new_node&)>& fn);
/// The first event (seq order) without a leaf that occurred before `cutoff`.
std::optional<audit_event> first_unsealed_before(connection& c, const timestamp& cutoff);
/// The number of events.
std::uint64_t audit_event_total(connection& c);

}  // namespace trevor::detail
