#include "audit/signed_note.hpp"

#include <charconv>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "audit/merkle.hpp"
#include "trevor/error.hpp"

namespace trevor::detail {
namespace {

constexpr std::string_view sig_prefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::size_t ed25519_sig_size = 64;
constexpr std::size_t max_signatures = 100;

[[noreturn]] void refuse(const std::string& why) {
  throw error(errc::invalid_argument, why);
}

// Code points of valid UTF-8, nullopt otherwise.
std::optional<std::vector<char32_t>> decode_utf8(std::string_view s) {
  std::vector<char32_t> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b0 < 0x80) {
      len = 1;
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1Fu;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0Fu;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07u;
    } else {
      return std::nullopt;
    }
    if (i + len > s.size()) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    static constexpr std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return std::nullopt;
    out.push_back(static_cast<char32_t>(cp));
    i += len;
  }
  return out;
}

// Unicode White_Space (what Go's unicode.IsSpace accepts).
bool is_unicode_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

std::string key_label(std::string_view name, std::uint32_t id) {
  return fmt::format("{}+{:08x}", name, id);
}

std::optional<std::uint32_t> parse_key_id(std::string_view hex) {
  if (hex.size() != 8) return std::nullopt;
  std::uint32_t v = 0;
  const auto r = std::from_chars(hex.data(), hex.data() + hex.size(), v, 16);
  if (r.ec != std::errc{} || r.ptr != hex.data() + hex.size()) return std::nullopt;
  return v;
}

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

ed25519_key public_of_seed(const ed25519_key& seed) {
  pkey_ptr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  ed25519_key pub{};
  std::size_t len = pub.size();
  if (!k || EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &len) != 1 || len != pub.size())
    throw error(errc::internal, "ed25519: OpenSSL could not derive a public key");
  return pub;
}

std::array<unsigned char, ed25519_sig_size> ed25519_sign(const ed25519_key& seed,
                                                         std::string_view msg) {
  pkey_ptr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::array<unsigned char, ed25519_sig_size> sig{};
  std::size_t len = sig.size();
  if (!k || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len,
                     reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) != 1 ||
      len != sig.size())
    throw error(errc::internal, "ed25519: OpenSSL signing failed");
  return sig;
}

bool ed25519_verify(const ed25519_key& pub, std::string_view msg, std::string_view sig) {
  if (sig.size() != ed25519_sig_size) return false;
  pkey_ptr k(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!k || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
}

// The key material after the algorithm byte: 0x01 ‖ 32 bytes.
std::optional<ed25519_key> ed25519_material(std::string_view b64, std::string& why) {
  const auto raw = base64_decode(b64);
  if (!raw || raw->empty()) {
    why = "the key is not base64";
    return std::nullopt;
  }
  if (static_cast<unsigned char>((*raw)[0]) != note_alg_ed25519) {
    why = fmt::format("unknown signature type 0x{:02x} (only Ed25519, 0x01)",
                      static_cast<unsigned char>((*raw)[0]));
    return std::nullopt;
  }
  if (raw->size() != 33) {
    why = fmt::format("an Ed25519 key is 32 bytes, not {}", raw->size() - 1);
    return std::nullopt;
  }
  ed25519_key k{};
  std::memcpy(k.data(), raw->data() + 1, k.size());
  return k;
}

std::string encode_key(const ed25519_key& k) {
  std::array<unsigned char, 33> raw{};
  raw[0] = note_alg_ed25519;
  std::memcpy(raw.data() + 1, k.data(), k.size());
  return base64_encode(raw);
}

// At most `max` parts split at '+': the last keeps any further '+' (base64
// has them).
std::vector<std::string_view> split_plus(std::string_view s, std::size_t max) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto at = parts.size() + 1 == max ? std::string_view::npos : s.find('+', start);
    if (at == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

[[noreturn]] void malformed_note(std::string_view why) {
  refuse(fmt::format("signed note: malformed ({})", why));
}

[[noreturn]] void malformed_checkpoint(std::string_view why) {
  refuse(fmt::format("checkpoint: malformed ({})", why));
}

}  // namespace

std::string base64_encode(std::span<const unsigned char> bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) |
                            std::uint32_t{bytes[i + 2]};
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out += "==";
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t data_chars = last ? 4 - pad : 4;
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      int d = 0;
      if (k < data_chars) {
        d = value(text[i + k]);
        if (d < 0) return std::nullopt;
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    out.push_back(static_cast<char>((v >> 16) & 0xFF));
    if (data_chars >= 3) out.push_back(static_cast<char>((v >> 8) & 0xFF));
    if (data_chars == 4) out.push_back(static_cast<char>(v & 0xFF));
    // Canonical: the bits that padding drops must be zero.
    if (data_chars == 2 && (v & 0xFFFF) != 0) return std::nullopt;
    if (data_chars == 3 && (v & 0xFF) != 0) return std::nullopt;
  }
  return out;
}

bool is_valid_key_name(std::string_view name) {
  if (name.empty() || name.find('+') != std::string_view::npos) return false;
  const auto cps = decode_utf8(name);
  if (!cps) return false;
  for (char32_t c : *cps)
    if (is_unicode_space(c)) return false;
  return true;
}

std::uint32_t note_key_id(std::string_view name, const ed25519_key& public_key) {
  std::string msg(name);
  msg.push_back('\n');
  msg.push_back(static_cast<char>(note_alg_ed25519));
  msg.append(reinterpret_cast<const char*>(public_key.data()), public_key.size());
  const auto h = sha256_bytes(msg);
  return (std::uint32_t{h[0]} << 24) | (std::uint32_t{h[1]} << 16) | (std::uint32_t{h[2]} << 8) |
         std::uint32_t{h[3]};
}

note_verifier_key parse_verifier_key(std::string_view text) {
  const auto parts = split_plus(text, 3);
  if (parts.size() != 3)
    refuse("verifier key: malformed (expected <name>+<8 hex key id>+<base64 key>)");
  if (!is_valid_key_name(parts[0]))
    refuse("verifier key: malformed (the key name is empty or has spaces)");
  const auto id = parse_key_id(parts[1]);
  if (!id) refuse("verifier key: malformed (the key id is not 8 hex digits)");
  std::string why;
  const auto pub = ed25519_material(parts[2], why);
  if (!pub) refuse(fmt::format("verifier key: malformed ({})", why));
  note_verifier_key k{std::string(parts[0]), *id, *pub};
  if (note_key_id(k.name, k.public_key) != k.key_id)
    refuse(fmt::format("verifier key: key id {:08x} does not belong to the name and key", *id));
  return k;
}

note_signer_key parse_signer_key(std::string_view text) {
  const auto parts = split_plus(text, 5);
  if (parts.size() != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY")
    refuse("signer key: malformed (expected PRIVATE+KEY+<name>+<8 hex key id>+<base64 key>)");
  if (!is_valid_key_name(parts[2]))
    refuse("signer key: malformed (the key name is empty or has spaces)");
  const auto id = parse_key_id(parts[3]);
  if (!id) refuse("signer key: malformed (the key id is not 8 hex digits)");
  std::string why;
  const auto seed = ed25519_material(parts[4], why);
  if (!seed) refuse(fmt::format("signer key: malformed ({})", why));
  auto k = signer_from_seed(parts[2], *seed);
  if (k.key_id != *id)
    refuse(fmt::format("signer key: key id {:08x} does not belong to the name and key", *id));
  return k;
}

std::string format_verifier_key(const note_verifier_key& key) {
  return fmt::format("{}+{:08x}+{}", key.name, key.key_id, encode_key(key.public_key));
}

std::string format_signer_key(const note_signer_key& key) {
  return fmt::format("PRIVATE+KEY+{}+{:08x}+{}", key.name, key.key_id, encode_key(key.seed));
}

note_verifier_key verifier_of(const note_signer_key& key) {
  return {key.name, key.key_id, key.public_key};
}

note_signer_key signer_from_seed(std::string_view name, const ed25519_key& seed) {
  if (!is_valid_key_name(name))
    refuse(fmt::format("key name '{}' is empty or has spaces or '+'", name));
  note_signer_key k;
  k.name = std::string(name);
  k.seed = seed;
  k.public_key = public_of_seed(seed);
  k.key_id = note_key_id(k.name, k.public_key);
  return k;
}

note_signer_key generate_signer_key(std::string_view name) {
  ed25519_key seed{};
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1)
    throw error(errc::internal, "ed25519: no random bytes for a key");
  return signer_from_seed(name, seed);
}

std::string sign_note(std::string_view text, const note_signer_key& key) {
  if (text.empty() || text.back() != '\n')
    refuse("signed note: the text to sign must be non-empty and end in a newline");
  const auto cps = decode_utf8(text);
  if (!cps) refuse("signed note: the text to sign is not valid UTF-8");
  for (char32_t c : *cps)
    if (c < 0x20 && c != '\n')
      refuse("signed note: the text to sign has a control character other than newline");
  const auto sig = ed25519_sign(key.seed, text);
  std::array<unsigned char, 4 + ed25519_sig_size> raw{};
  raw[0] = static_cast<unsigned char>(key.key_id >> 24);
  raw[1] = static_cast<unsigned char>(key.key_id >> 16);
  raw[2] = static_cast<unsigned char>(key.key_id >> 8);
  raw[3] = static_cast<unsigned char>(key.key_id);
  std::memcpy(raw.data() + 4, sig.data(), sig.size());
  std::string out(text);
  out.push_back('\n');
  out += sig_prefix;
  out += key.name;
  out.push_back(' ');
  out += base64_encode(raw);
  out.push_back('\n');
  return out;
}

std::string open_note(std::string_view note, const note_verifier_key& key) {
  const auto cps = decode_utf8(note);
  if (!cps) malformed_note("not valid UTF-8");
  for (char32_t c : *cps)
    if (c < 0x20 && c != '\n') malformed_note("a control character other than newline");
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) malformed_note("no blank line before the signatures");
  const std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') malformed_note("no signature lines");

  std::vector<std::string> others;
  bool verified = false;
  std::size_t count = 0;
  while (!sigs.empty()) {
    const auto eol = sigs.find('\n');
    std::string_view line = sigs.substr(0, eol);
    sigs.remove_prefix(eol + 1);
    if (++count > max_signatures) malformed_note("too many signatures");
    if (!line.starts_with(sig_prefix))
      malformed_note("a signature line does not start with an em dash and a space");
    line.remove_prefix(sig_prefix.size());
    const auto space = line.find(' ');
    const std::string_view name = line.substr(0, space);
    const std::string_view b64 =
        space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    const auto raw = base64_decode(b64);
    if (!is_valid_key_name(name) || b64.empty() || !raw || raw->size() < 5)
      malformed_note(fmt::format("the signature line for '{}' is not '— <name> <base64>'", name));
    const auto* u = reinterpret_cast<const unsigned char*>(raw->data());
    const std::uint32_t id = (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) |
                             (std::uint32_t{u[2]} << 8) | std::uint32_t{u[3]};
    if (name != key.name || id != key.key_id) {
      others.push_back(key_label(name, id));
      continue;
    }
    if (!ed25519_verify(key.public_key, text, std::string_view(*raw).substr(4)))
      refuse(fmt::format("signed note: the signature by {} does not verify",
                         key_label(key.name, key.key_id)));
    verified = true;
  }
  if (!verified)
    refuse(fmt::format("signed note: no signature by key {} (unknown key; signed by {})",
                       key_label(key.name, key.key_id), fmt::join(others, ", ")));
  return std::string(text);
}

std::string format_checkpoint(const checkpoint& c) {
  if (c.origin.empty() || c.origin.find('\n') != std::string::npos)
    refuse("checkpoint: the origin must be a non-empty line");
  std::string out = fmt::format("{}\n{}\n{}\n", c.origin, c.tree_size, base64_encode(c.root));
  for (const auto& e : c.extensions) {
    if (e.empty() || e.find('\n') != std::string::npos)
      refuse("checkpoint: an extension must be a non-empty line");
    out += e;
    out.push_back('\n');
  }
  return out;
}

std::string sign_checkpoint(const checkpoint& c, const note_signer_key& key) {
  return sign_note(format_checkpoint(c), key);
}

}  // namespace trevor::detail

namespace trevor {

checkpoint parse_checkpoint(std::string_view text) {
  using detail::malformed_checkpoint;
  if (text.empty() || text.back() != '\n')
    malformed_checkpoint("the text does not end in a newline");
  std::vector<std::string_view> lines;
  for (std::string_view rest = text.substr(0, text.size() - 1);;) {
    const auto eol = rest.find('\n');
    lines.push_back(rest.substr(0, eol));
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 1);
  }
  if (lines.size() < 3) malformed_checkpoint("fewer than three lines");
  checkpoint c;
  if (lines[0].empty()) malformed_checkpoint("empty origin");
  c.origin = std::string(lines[0]);
  const auto size = lines[1];
  const auto r = std::from_chars(size.data(), size.data() + size.size(), c.tree_size, 10);
  if (size.empty() || r.ec != std::errc{} || r.ptr != size.data() + size.size() ||
      (size.size() > 1 && size[0] == '0') || size[0] == '+' || size[0] == '-')
    malformed_checkpoint(fmt::format("tree size '{}' is not a decimal number", size));
  const auto root = detail::base64_decode(lines[2]);
  if (!root || root->size() != c.root.size())
    malformed_checkpoint("the root hash is not the base64 of 32 bytes");
  std::memcpy(c.root.data(), root->data(), c.root.size());
  for (std::size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) malformed_checkpoint("an empty extension line");
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

checkpoint verify_checkpoint(std::string_view signed_note, std::string_view verifier_key) {
  const auto key = detail::parse_verifier_key(verifier_key);
  return parse_checkpoint(detail::open_note(signed_note, key));
}

audit_key_pair generate_audit_key(std::string_view name) {
  const auto k = detail::generate_signer_key(name);
  return {detail::format_signer_key(k), detail::format_verifier_key(detail::verifier_of(k))};
}

std::string audit_verifier_key(std::string_view signer_key) {
  return detail::format_verifier_key(detail::verifier_of(detail::parse_signer_key(signer_key)));
}

}  // namespace trevor
