#pragma once
// RFC 9162 (RFC 6962) Merkle tree hashing and proofs — internal.
//
// Hashes: leaf = SHA-256(0x00 ‖ bytes), node = SHA-256(0x01 ‖ left ‖ right),
// the root of the empty tree SHA-256(""). The tree of n leaves splits at the
// largest power of two below n (RFC 9162 §2.1.1).
//
// Proof generation asks a subtree_source for hashes of *aligned complete
// subtrees*: {level L, index k} is the root of the perfect subtree over leaves
// [k·2^L, (k+1)·2^L). Every node of every tree size is either such a subtree
// or (on the right edge of the tree) a fold of O(log n) of them, so one root,
// one inclusion proof or one consistency proof needs O(log² n) hashes at
// worst, asked for in a single subtree_hashes() call (one round trip for a
// store). A source only needs to answer for subtrees whose leaves all exist.
//
// memory_tree is the in-memory source: append-only, it keeps every level and
// computes each completed subtree's node as leaves are appended.
//
// Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 exactly; the detail
// functions return an empty string when the proof holds and otherwise a
// sentence naming what is wrong. Generation throws invalid_argument for an
// index or sizes outside the tree.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trevor/audit_proof.hpp"

namespace trevor::detail {

using hash256 = audit_hash;

hash256 sha256_bytes(std::string_view bytes);
hash256 merkle_leaf_hash(std::string_view bytes);
hash256 merkle_node_hash(const hash256& left, const hash256& right);
hash256 merkle_empty_root();

/// The aligned complete subtree over leaves [index·2^level, (index+1)·2^level).
struct subtree_id {
  unsigned level = 0;
  std::uint64_t index = 0;
  friend bool operator==(const subtree_id&, const subtree_id&) = default;
};

class subtree_source {
 public:
  virtual ~subtree_source() = default;
  /// The hashes of `ids`, in the same order. Each subtree lies within the
  /// tree the caller asks about (its last leaf exists).
  virtual std::vector<hash256> subtree_hashes(std::span<const subtree_id> ids) const = 0;
};

/// MTH of the first `size` leaves.
hash256 merkle_root(const subtree_source& src, std::uint64_t size);
/// PATH(index, D[0:size]): the audit path, from the leaf's sibling upwards.
std::vector<hash256> merkle_inclusion_proof(const subtree_source& src, std::uint64_t index,
                                            std::uint64_t size);
/// PROOF(from, D[0:to]); empty when from == to or from == 0.
std::vector<hash256> merkle_consistency_proof(const subtree_source& src, std::uint64_t from,
                                              std::uint64_t to);

/// The subtrees the three functions above ask for (for a store that wants to
/// prefetch or to test its coverage).
std::vector<subtree_id> merkle_root_nodes(std::uint64_t size);
std::vector<subtree_id> merkle_inclusion_nodes(std::uint64_t index, std::uint64_t size);
std::vector<subtree_id> merkle_consistency_nodes(std::uint64_t from, std::uint64_t to);

/// RFC 9162 §2.1.3.2; "" when the proof holds.
std::string merkle_inclusion_problem(std::uint64_t index, std::uint64_t size,
                                     const hash256& leaf_hash, std::span<const hash256> proof,
                                     const hash256& root);
/// RFC 9162 §2.1.4.2 (plus from == to and from == 0); "" when it holds.
std::string merkle_consistency_problem(std::uint64_t from, std::uint64_t to,
                                       const hash256& from_root, const hash256& to_root,
                                       std::span<const hash256> proof);

/// An append-only Merkle tree in memory.
class memory_tree final : public subtree_source {
 public:
  memory_tree() = default;

  void append_leaf_hash(const hash256& leaf_hash);
  void append_leaf(std::string_view leaf_bytes) { append_leaf_hash(merkle_leaf_hash(leaf_bytes)); }

  std::uint64_t size() const noexcept { return levels_.empty() ? 0 : levels_[0].size(); }
  /// Leaf hash `index` (< size()).
  const hash256& leaf_hash(std::uint64_t index) const;
  /// MTH of the first `size` leaves (≤ size()).
  hash256 root(std::uint64_t size) const { return merkle_root(*this, size); }
  hash256 root() const { return root(size()); }

  std::vector<hash256> subtree_hashes(std::span<const subtree_id> ids) const override;

 private:
  // levels_[L][k] is subtree {L, k}; only completed subtrees are stored.
  std::vector<std::vector<hash256>> levels_;
};

}  // namespace trevor::detail
