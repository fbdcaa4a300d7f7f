#include "trevor/audit_proof.hpp"

#include "audit/merkle.hpp"
#include "trevor/error.hpp"

namespace trevor {

std::string to_hex(const audit_hash& h) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(h.size() * 2);
  for (unsigned char b : h) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0F]);
  }
  return out;
}

audit_hash audit_hash_from_hex(std::string_view hex) {
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  audit_hash h{};
  if (hex.size() != h.size() * 2)
    throw error(errc::invalid_argument,
                "hash: expected 64 hex digits, got " + std::to_string(hex.size()) + " characters");
  for (std::size_t i = 0; i < h.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) throw error(errc::invalid_argument, "hash: not hex");
    h[i] = static_cast<unsigned char>((hi << 4) | lo);
  }
  return h;
}

audit_hash leaf_hash(std::string_view leaf_bytes) {
  return detail::merkle_leaf_hash(leaf_bytes);
}

bool verify_inclusion(const inclusion_proof& proof, const audit_hash& leaf,
                      const audit_hash& root) noexcept {
  try {
    return detail::merkle_inclusion_problem(proof.leaf_index, proof.tree_size, leaf, proof.hashes,
                                            root)
        .empty();
  } catch (...) {
    return false;
  }
}

void check_inclusion(const inclusion_proof& proof, const audit_hash& leaf, const audit_hash& root) {
  const auto problem =
      detail::merkle_inclusion_problem(proof.leaf_index, proof.tree_size, leaf, proof.hashes, root);
  if (!problem.empty()) throw error(errc::invalid_argument, problem);
}

bool verify_consistency(const consistency_proof& proof, const audit_hash& from_root,
                        const audit_hash& to_root) noexcept {
  try {
    return detail::merkle_consistency_problem(proof.from, proof.to, from_root, to_root,
                                              proof.hashes)
        .empty();
  } catch (...) {
    return false;
  }
}

void check_consistency(const consistency_proof& proof, const audit_hash& from_root,
                       const audit_hash& to_root) {
  const auto problem =
      detail::merkle_consistency_problem(proof.from, proof.to, from_root, to_root, proof.hashes);
  if (!problem.empty()) throw error(errc::invalid_argument, problem);
}

}  // namespace trevor
