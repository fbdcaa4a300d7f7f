#pragma once
// trevor audit proofs — what an auditor's tool or an embedding program needs
// to check the audit trail without a database and without trusting trevor.
//
// The trail is an RFC 9162 (RFC 6962) Merkle tree: a leaf is the RFC 8785
// canonical JSON of one audit event, its hash SHA-256(0x00 ‖ bytes); an
// interior node is SHA-256(0x01 ‖ left ‖ right). The head of the tree is a
// C2SP tlog-checkpoint (`<origin>\n<size>\n<base64 root>\n`) signed as a C2SP
// signed note with Ed25519. Keys are text in the signed-note convention:
//
//   verifier key  <name>+<8 hex key id>+<base64(0x01 ‖ 32-byte public key)>
//   signer key    PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 ‖ 32-byte seed)>
//
// Every function here is pure (no I/O, no database) and thread-safe. Errors
// are trevor::error with errc::invalid_argument whose message names what is
// wrong ("checkpoint: signature by trevor.local/audit+1a2b3c4d does not
// verify", "inclusion proof: 2 hashes given, a leaf of a tree of 8 needs 3").

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trevor/export.hpp"

namespace trevor {

/// A SHA-256 hash: a leaf hash, a node hash or a tree root.
using audit_hash = std::array<unsigned char, 32>;

/// Lower-case hex of a hash (64 characters).
TREVOR_EXPORT std::string to_hex(const audit_hash& h);
/// A hash from 64 hex digits (either case); invalid_argument otherwise.
TREVOR_EXPORT audit_hash audit_hash_from_hex(std::string_view hex);

/// SHA-256(0x00 ‖ leaf_bytes): the hash of one leaf.
TREVOR_EXPORT audit_hash leaf_hash(std::string_view leaf_bytes);

/// The audit path of leaf `leaf_index` in the tree of `tree_size` leaves
/// (RFC 9162 §2.1.3), hashes ordered from the leaf's sibling upwards.
struct inclusion_proof {
  std::uint64_t leaf_index = 0;
  std::uint64_t tree_size = 0;
  std::vector<audit_hash> hashes;
  friend bool operator==(const inclusion_proof&, const inclusion_proof&) = default;
};

/// The proof that the tree of `to` leaves extends the tree of `from` leaves
/// (RFC 9162 §2.1.4).
struct consistency_proof {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  std::vector<audit_hash> hashes;
  friend bool operator==(const consistency_proof&, const consistency_proof&) = default;
};

/// True when `proof` shows the leaf hashing to `leaf` at proof.leaf_index in
/// the tree of proof.tree_size leaves whose root is `root`.
TREVOR_EXPORT bool verify_inclusion(const inclusion_proof& proof, const audit_hash& leaf,
                                    const audit_hash& root) noexcept;
/// As verify_inclusion, but throws invalid_argument naming what is wrong.
TREVOR_EXPORT void check_inclusion(const inclusion_proof& proof, const audit_hash& leaf,
                                   const audit_hash& root);

/// True when `proof` shows that the tree of proof.to leaves with root
/// `to_root` extends the tree of proof.from leaves with root `from_root`. A
/// tree extends itself (from == to, no hashes, equal roots) and every tree
/// extends the empty one (from == 0, no hashes).
TREVOR_EXPORT bool verify_consistency(const consistency_proof& proof, const audit_hash& from_root,
                                      const audit_hash& to_root) noexcept;
/// As verify_consistency, but throws invalid_argument naming what is wrong.
TREVOR_EXPORT void check_consistency(const consistency_proof& proof, const audit_hash& from_root,
                                     const audit_hash& to_root);

/// The body of a C2SP tlog-checkpoint.
struct checkpoint {
  std::string origin;
  std::uint64_t tree_size = 0;
  audit_hash root{};
  std::vector<std::string> extensions;  // opaque extension lines, if any
  friend bool operator==(const checkpoint&, const checkpoint&) = default;
};

/// The checkpoint in a note text (the part before the signatures, ending in
/// a newline); invalid_argument "checkpoint: malformed …" otherwise.
TREVOR_EXPORT checkpoint parse_checkpoint(std::string_view note_text);

/// The checkpoint of a signed note after checking its signature by the key
/// `verifier_key` (verifier key text). Signatures by other keys are ignored.
/// invalid_argument naming the problem: a malformed verifier key, a
/// malformed note, no signature by that key (the note names the keys it has),
/// a signature that does not verify, a malformed checkpoint.
TREVOR_EXPORT checkpoint verify_checkpoint(std::string_view signed_note,
                                           std::string_view verifier_key);

/// A new Ed25519 key pair named `name` (a non-empty key name without spaces
/// or '+', by convention the log's origin).
struct audit_key_pair {
  std::string signer_key;    // PRIVATE+KEY+… — keep secret
  std::string verifier_key;  // <name>+<id>+<key> — publish
};
TREVOR_EXPORT audit_key_pair generate_audit_key(std::string_view name);

/// The verifier key of a signer key text (PRIVATE+KEY+…); invalid_argument
/// "signer key: malformed …" otherwise. What `trevord audit public-key` prints.
TREVOR_EXPORT std::string audit_verifier_key(std::string_view signer_key);

}  // namespace trevor
