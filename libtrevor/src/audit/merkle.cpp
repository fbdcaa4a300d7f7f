#include "audit/merkle.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "trevor/error.hpp"

namespace trevor::detail {
namespace {

[[noreturn]] void refuse(const std::string& why) {
  throw error(errc::invalid_argument, why);
}

// The largest power of two strictly below s (s ≥ 2): RFC 9162's split point.
std::uint64_t split_of(std::uint64_t s) {
  return std::bit_floor(s - 1);
}

hash256 digest(std::initializer_list<std::pair<const void*, std::size_t>> parts) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  hash256 out{};
  unsigned int len = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
  for (const auto& [data, n] : parts) ok = ok && EVP_DigestUpdate(ctx, data, n) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, out.data(), &len) == 1 && len == out.size();
  EVP_MD_CTX_free(ctx);
  if (!ok) throw error(errc::internal, "sha256: OpenSSL digest failed");
  return out;
}

// A range [lo, hi) of leaves whose MTH is a node of the tree: lo is a
// multiple of a power of two at least hi − lo, so the range is the
// concatenation of aligned complete subtrees of descending size.
struct leaf_range {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
};

void append_pieces(std::vector<subtree_id>& out, leaf_range r) {
  std::uint64_t pos = r.lo;
  while (pos < r.hi) {
    const std::uint64_t rest = r.hi - pos;
    unsigned level = static_cast<unsigned>(std::bit_width(rest) - 1);  // 2^level ≤ rest
    if (pos != 0) level = std::min(level, static_cast<unsigned>(std::countr_zero(pos)));
    out.push_back({level, pos >> level});
    pos += std::uint64_t{1} << level;
  }
}

std::vector<subtree_id> nodes_of(const std::vector<leaf_range>& ranges) {
  std::vector<subtree_id> ids;
  for (const auto& r : ranges) append_pieces(ids, r);
  return ids;
}

// The MTH of each range, from one batched request to the source.
std::vector<hash256> hashes_of(const subtree_source& src, const std::vector<leaf_range>& ranges) {
  std::vector<subtree_id> ids;
  std::vector<std::size_t> counts;
  counts.reserve(ranges.size());
  for (const auto& r : ranges) {
    const auto before = ids.size();
    append_pieces(ids, r);
    counts.push_back(ids.size() - before);
  }
  const auto pieces = src.subtree_hashes(ids);
  if (pieces.size() != ids.size())
    throw error(errc::internal, fmt::format("merkle: the hash source answered {} of {} subtrees",
                                            pieces.size(), ids.size()));
  std::vector<hash256> out;
  out.reserve(ranges.size());
  std::size_t at = 0;
  for (const auto n : counts) {
    // Right fold: MTH splits at the first (largest) piece.
    hash256 h = pieces[at + n - 1];
    for (std::size_t i = n - 1; i-- > 0;) h = merkle_node_hash(pieces[at + i], h);
    out.push_back(h);
    at += n;
  }
  return out;
}

// The ranges of PATH(index, D[0:size]), leaf's sibling first.
std::vector<leaf_range> inclusion_ranges(std::uint64_t index, std::uint64_t size) {
  if (index >= size)
    refuse(
        fmt::format("inclusion proof: leaf index {} is not in a tree of {} leaves", index, size));
  std::vector<leaf_range> top_down;
  std::uint64_t lo = 0, hi = size;
  while (hi - lo > 1) {
    const std::uint64_t k = split_of(hi - lo);
    if (index < lo + k) {
      top_down.push_back({lo + k, hi});
      hi = lo + k;
    } else {
      top_down.push_back({lo, lo + k});
      lo += k;
    }
  }
  std::reverse(top_down.begin(), top_down.end());
  return top_down;
}

// The ranges of PROOF(from, D[0:to]) (RFC 9162 §2.1.4.1), deepest first.
std::vector<leaf_range> consistency_ranges(std::uint64_t from, std::uint64_t to) {
  if (from > to)
    refuse(fmt::format("consistency proof: a tree of {} leaves cannot extend one of {}", to, from));
  std::vector<leaf_range> top_down;
  if (from == 0 || from == to) return top_down;
  std::uint64_t m = from, lo = 0, hi = to;
  bool b = true;
  for (;;) {
    const std::uint64_t size = hi - lo;
    if (m == size) {
      if (!b) top_down.push_back({lo, hi});
      break;
    }
    const std::uint64_t k = split_of(size);
    if (m <= k) {
      top_down.push_back({lo + k, hi});
      hi = lo + k;
    } else {
      top_down.push_back({lo, lo + k});
      m -= k;
      lo += k;
      b = false;
    }
  }
  std::reverse(top_down.begin(), top_down.end());
  return top_down;
}

std::size_t inclusion_length(std::uint64_t index, std::uint64_t size) {
  std::size_t n = 0;
  std::uint64_t lo = 0, hi = size;
  while (hi - lo > 1) {
    const std::uint64_t k = split_of(hi - lo);
    if (index < lo + k)
      hi = lo + k;
    else
      lo += k;
    ++n;
  }
  return n;
}

std::string short_hex(const hash256& h) {
  return to_hex(h);
}

}  // namespace

hash256 sha256_bytes(std::string_view bytes) {
  return digest({{bytes.data(), bytes.size()}});
}

hash256 merkle_leaf_hash(std::string_view bytes) {
  static constexpr unsigned char prefix = 0x00;
  return digest({{&prefix, 1}, {bytes.data(), bytes.size()}});
}

hash256 merkle_node_hash(const hash256& left, const hash256& right) {
  static constexpr unsigned char prefix = 0x01;
  return digest({{&prefix, 1}, {left.data(), left.size()}, {right.data(), right.size()}});
}

hash256 merkle_empty_root() {
  return sha256_bytes({});
}

std::vector<subtree_id> merkle_root_nodes(std::uint64_t size) {
  std::vector<subtree_id> ids;
  append_pieces(ids, {0, size});
  return ids;
}

std::vector<subtree_id> merkle_inclusion_nodes(std::uint64_t index, std::uint64_t size) {
  return nodes_of(inclusion_ranges(index, size));
}

std::vector<subtree_id> merkle_consistency_nodes(std::uint64_t from, std::uint64_t to) {
  return nodes_of(consistency_ranges(from, to));
}

hash256 merkle_root(const subtree_source& src, std::uint64_t size) {
  if (size == 0) return merkle_empty_root();
  return hashes_of(src, {{0, size}}).front();
}

std::vector<hash256> merkle_inclusion_proof(const subtree_source& src, std::uint64_t index,
                                            std::uint64_t size) {
  return hashes_of(src, inclusion_ranges(index, size));
}

std::vector<hash256> merkle_consistency_proof(const subtree_source& src, std::uint64_t from,
                                              std::uint64_t to) {
  return hashes_of(src, consistency_ranges(from, to));
}

std::string merkle_inclusion_problem(std::uint64_t index, std::uint64_t size,
                                     const hash256& leaf_hash, std::span<const hash256> proof,
                                     const hash256& root) {
  if (index >= size)
    return fmt::format("inclusion proof: leaf index {} is not in a tree of {} leaves", index, size);
  const std::size_t want = inclusion_length(index, size);
  if (proof.size() != want)
    return fmt::format("inclusion proof: {} hashes given, leaf {} of a tree of {} needs {}",
                       proof.size(), index, size, want);
  // RFC 9162 §2.1.3.2.
  std::uint64_t fn = index, sn = size - 1;
  hash256 r = leaf_hash;
  for (const auto& p : proof) {
    if (sn == 0) return "inclusion proof: more hashes than the tree has levels";
    if ((fn & 1) != 0 || fn == sn) {
      r = merkle_node_hash(p, r);
      if ((fn & 1) == 0)
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return "inclusion proof: fewer hashes than the tree has levels";
  if (r != root)
    return fmt::format(
        "inclusion proof: leaf {} of a tree of {} leads to root {}, not to the expected {}", index,
        size, short_hex(r), short_hex(root));
  return {};
}

std::string merkle_consistency_problem(std::uint64_t from, std::uint64_t to,
                                       const hash256& from_root, const hash256& to_root,
                                       std::span<const hash256> proof) {
  if (from > to)
    return fmt::format("consistency proof: a tree of {} leaves cannot extend one of {}", to, from);
  if (from == 0) {
    if (!proof.empty())
      return fmt::format("consistency proof: {} hashes given, from the empty tree needs none",
                         proof.size());
    return {};
  }
  if (from == to) {
    if (!proof.empty())
      return fmt::format("consistency proof: {} hashes given, a tree of {} to itself needs none",
                         proof.size(), from);
    if (from_root != to_root)
      return fmt::format(
          "consistency proof: two different roots ({}, {}) for the tree of {} leaves",
          short_hex(from_root), short_hex(to_root), from);
    return {};
  }
  const std::size_t want = consistency_ranges(from, to).size();
  if (proof.size() != want)
    return fmt::format("consistency proof: {} hashes given, from {} to {} leaves needs {}",
                       proof.size(), from, to, want);
  // RFC 9162 §2.1.4.2.
  std::vector<hash256> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(from)) path.push_back(from_root);
  path.insert(path.end(), proof.begin(), proof.end());
  std::uint64_t fn = from - 1, sn = to - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  hash256 fr = path[0], sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const auto& c = path[i];
    if (sn == 0) return "consistency proof: more hashes than the trees have levels";
    if ((fn & 1) != 0 || fn == sn) {
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      if ((fn & 1) == 0)
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      sr = merkle_node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return "consistency proof: fewer hashes than the trees have levels";
  if (fr != from_root)
    return fmt::format(
        "consistency proof: the proof gives root {} for the tree of {} leaves, not the expected {}",
        short_hex(fr), from, short_hex(from_root));
  if (sr != to_root)
    return fmt::format(
        "consistency proof: the proof gives root {} for the tree of {} leaves, not the expected {}",
        short_hex(sr), to, short_hex(to_root));
  return {};
}

void memory_tree::append_leaf_hash(const hash256& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  // Each level whose length became even completes a node one level up.
  for (std::size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    const auto& row = levels_[level];
    const hash256 node = merkle_node_hash(row[row.size() - 2], row[row.size() - 1]);
    if (levels_.size() == level + 1) levels_.emplace_back();
    levels_[level + 1].push_back(node);
  }
}

const hash256& memory_tree::leaf_hash(std::uint64_t index) const {
  if (index >= size())
    refuse(fmt::format("merkle tree: no leaf {} in a tree of {} leaves", index, size()));
  return levels_[0][index];
}

std::vector<hash256> memory_tree::subtree_hashes(std::span<const subtree_id> ids) const {
  std::vector<hash256> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    if (id.level >= levels_.size() || id.index >= levels_[id.level].size())
      refuse(
          fmt::format("merkle tree: no complete subtree at level {} index {} in a tree of {} "
                      "leaves",
                      id.level, id.index, size()));
    out.push_back(levels_[id.level][id.index]);
  }
  return out;
}

}  // namespace trevor::detail
