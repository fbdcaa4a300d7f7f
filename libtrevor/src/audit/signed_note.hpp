#pragma once
// C2SP signed notes with Ed25519, and tlog-checkpoint bodies — internal.
//
// A signed note (c2sp.org/signed-note) is a text ending in a newline, a
// blank line, then one or more signature lines
//
//   — <key name> <base64(key id (4 bytes, big-endian) ‖ 64-byte signature)>
//
// where key id = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)[:4]. The
// whole note is valid UTF-8 without control characters other than newline;
// the text ends at the last blank line. Key names are non-empty, without
// '+' or Unicode spaces. Keys as text (golang.org/x/mod/sumdb/note):
//
//   verifier  <name>+<8 hex key id>+<base64(0x01 ‖ public key)>
//   signer    PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 ‖ 32-byte seed)>
//
// open_note() follows the reference: signatures by other keys are ignored;
// a signature by the given key (name and id) must verify; at least one
// must be present. Every refusal is invalid_argument whose message starts
// "signed note:" and says which rule failed: malformed, no signature by the
// key (naming the keys that did sign), a signature that does not verify.
//
// A checkpoint body (c2sp.org/tlog-checkpoint) is `<origin>\n<size>\n<base64
// 32-byte root>\n` followed by optional non-empty extension lines; the size
// is decimal without leading zeros. Refusals start "checkpoint: malformed".

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "trevor/audit_proof.hpp"

namespace trevor::detail {

inline constexpr unsigned char note_alg_ed25519 = 0x01;
using ed25519_key = std::array<unsigned char, 32>;

struct note_verifier_key {
  std::string name;
  std::uint32_t key_id = 0;
  ed25519_key public_key{};
};

struct note_signer_key {
  std::string name;
  std::uint32_t key_id = 0;
  ed25519_key seed{};
  ed25519_key public_key{};  // derived from the seed
};

/// Standard base64 (RFC 4648 §4) with padding; the decoder is strict
/// (no whitespace, canonical padding and trailing bits) and returns nullopt
/// for anything else.
std::string base64_encode(std::span<const unsigned char> bytes);
std::optional<std::string> base64_decode(std::string_view text);

bool is_valid_key_name(std::string_view name);
std::uint32_t note_key_id(std::string_view name, const ed25519_key& public_key);

note_verifier_key parse_verifier_key(std::string_view text);
note_signer_key parse_signer_key(std::string_view text);
std::string format_verifier_key(const note_verifier_key& key);
std::string format_signer_key(const note_signer_key& key);
note_verifier_key verifier_of(const note_signer_key& key);
/// A new key from a cryptographic random source.
note_signer_key generate_signer_key(std::string_view name);
/// The signer for a 32-byte seed (tests, deterministic keys).
note_signer_key signer_from_seed(std::string_view name, const ed25519_key& seed);

/// `text` (non-empty, ending in a newline, no control characters but
/// newlines) signed by `key`: text, blank line, one signature line.
std::string sign_note(std::string_view text, const note_signer_key& key);
/// The text of `note` once its signature by `key` verifies.
std::string open_note(std::string_view note, const note_verifier_key& key);

/// The checkpoint body for `c` (invalid_argument for an empty origin or
/// one containing a newline, or an empty extension line).
std::string format_checkpoint(const checkpoint& c);
/// format_checkpoint(c) signed by `key`.
std::string sign_checkpoint(const checkpoint& c, const note_signer_key& key);

}  // namespace trevor::detail
