#include "trevor/audit_trail.hpp"

#include <algorithm>
#include <atomic>
#include <fstream>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/canonical_json.hpp"
#include "audit/merkle.hpp"
#include "audit/signed_note.hpp"
#include "db/transaction.hpp"
#include "store/audit_tree.hpp"
#include "trevor/error.hpp"

namespace trevor {
namespace {

using detail::connection;
using detail::hash256;
using detail::subtree_id;
using detail::transaction;

// How far below the highest sealed seq the sealer looks for events that
// committed late (PostgreSQL assigns seq at insert, not at commit).
constexpr std::int64_t late_commit_window = 1000;

std::string leaf_bytes(const audit_event& e) {
  detail::audit_leaf_fields f;
  f.id = e.id.str();
  f.seq = e.seq;
  f.occurred_at = e.occurred_at.str();
  f.event_type = e.event_type;
  f.actor = e.actor;
  if (e.request_id) f.request_id = e.request_id->str();
  if (e.project_id) f.project_id = e.project_id->str();
  f.payload_json = e.payload_json;
  return detail::audit_leaf_bytes(f);
}

// The complete aligned subtrees that make up the first n leaves, left to
// right (one per set bit of n).
std::vector<subtree_id> frontier(std::uint64_t n) {
  std::vector<subtree_id> out;
  std::uint64_t covered = 0;
  for (int level = 63; level >= 0; --level) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if (n & width) {
      out.push_back({static_cast<unsigned>(level), covered >> level});
      covered += width;
    }
  }
  return out;
}

struct sealed_batch {
  std::uint64_t sealed = 0;
  std::uint64_t tree_size = 0;
  std::int64_t last_seq = 0;  // the highest seq sealed (when sealed > 0)
};

// Appends `events` as leaves n, n+1, … and every subtree they complete.
sealed_batch append_leaves(connection& c, std::uint64_t n, const std::vector<audit_event>& events) {
  const auto edge_ids = frontier(n);
  const auto edge_hashes = detail::stored_tree(c).subtree_hashes(edge_ids);
  struct open_subtree {
    subtree_id id;
    hash256 hash;
  };
  std::vector<open_subtree> edge;
  for (std::size_t i = 0; i < edge_ids.size(); ++i) edge.push_back({edge_ids[i], edge_hashes[i]});

  std::vector<detail::new_leaf> leaves;
  std::vector<detail::new_node> nodes;
  leaves.reserve(events.size());
  for (const auto& e : events) {
    const hash256 h = detail::merkle_leaf_hash(leaf_bytes(e));
    leaves.push_back({n, e.id, e.seq, h});
    edge.push_back({{0, n}, h});
    ++n;
    // Two neighbours of one level make their parent (the left one is the
    // even index: the edge is always a sequence of aligned subtrees).
    while (edge.size() >= 2 && edge[edge.size() - 2].id.level == edge.back().id.level) {
      const auto right = edge.back();
      edge.pop_back();
      const auto left = edge.back();
      edge.pop_back();
      open_subtree parent{{left.id.level + 1, left.id.index / 2},
                          detail::merkle_node_hash(left.hash, right.hash)};
      nodes.push_back({parent.id, parent.hash});
      edge.push_back(parent);
    }
  }
  detail::insert_audit_leaves(c, leaves);
  detail::insert_audit_nodes(c, nodes);
  return {events.size(), n, 0};
}

std::string json_string(const boost::json::object& o, std::string_view key, std::string_view what) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_string())
    throw error(errc::invalid_argument,
                fmt::format("{}: \"{}\" is missing or not a string", what, key));
  return std::string(v->as_string());
}

// The proof format is closed: a member it does not define is refused, so that
// no byte of a proof goes unchecked.
void only_keys(const boost::json::object& o, std::initializer_list<std::string_view> known,
               std::string_view what) {
  for (const auto& member : o)
    if (std::find(known.begin(), known.end(), std::string_view(member.key())) == known.end())
      throw error(errc::invalid_argument,
                  fmt::format("{}: unknown member \"{}\"", what, std::string_view(member.key())));
}

std::uint64_t json_uint(const boost::json::object& o, std::string_view key, std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v && v->is_uint64()) return v->as_uint64();
  if (v && v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  throw error(errc::invalid_argument,
              fmt::format("{}: \"{}\" is missing or not a non-negative integer", what, key));
}

}  // namespace

struct audit_trail::state {
  std::optional<detail::note_signer_key> signer;
  std::atomic<unsigned> runs{0};
};

audit_trail::audit_trail(database db, audit_trail_options options)
    : db_(std::move(db)), options_(std::move(options)), state_(std::make_unique<state>()) {
  if (options_.origin.empty() || options_.origin.find('\n') != std::string::npos)
    throw error(errc::invalid_argument, "audit origin: must be one non-empty line");
  if (options_.signer_key) state_->signer = detail::parse_signer_key(*options_.signer_key);
  if (options_.batch == 0) options_.batch = 1;
  if (options_.full_scan_every == 0) options_.full_scan_every = 1;
}

audit_trail::~audit_trail() = default;

bool audit_trail::signs() const noexcept {
  return state_->signer.has_value();
}

seal_result audit_trail::seal() {
  seal_result out;
  const bool full_scan = state_->runs.fetch_add(1) % options_.full_scan_every == 0;
  // After a batch of this run, the next one looks above its highest seq only:
  // every unsealed event below it was in the batch (seq order), so the scan
  // does not pass over the leaves this run just sealed again and again (a
  // late commit below it is found by the next run's window or full scan).
  std::optional<std::int64_t> resume_after;
  for (;;) {
    const auto batch = detail::run_transaction(
        db_.impl(), transaction::mode::write, "audit seal", [&](connection& c) {
          detail::lock_audit_sealer(c);
          const std::uint64_t n = detail::audit_leaf_count(c);
          const std::int64_t after =
              resume_after ? *resume_after
              : full_scan
                  ? 0
                  : std::max<std::int64_t>(0, detail::max_sealed_seq(c) - late_commit_window);
          const auto events = detail::unsealed_events(c, after, options_.batch);
          if (events.empty()) return sealed_batch{0, n};
          auto sealed = append_leaves(c, n, events);
          sealed.last_seq = events.back().seq;
          return sealed;
        });
    if (batch.sealed > 0) resume_after = batch.last_seq;
    out.sealed += batch.sealed;
    out.tree_size = batch.tree_size;
    if (batch.sealed < options_.batch) break;
  }
  if (!state_->signer) return out;

  // Sign the tree when it has grown past the last checkpoint (also after a
  // sealer that stopped between its leaves and its checkpoint).
  auto note = detail::run_transaction(
      db_.impl(), transaction::mode::write, "audit checkpoint",
      [&](connection& c) -> std::optional<std::string> {
        detail::lock_audit_sealer(c);
        const std::uint64_t n = detail::audit_leaf_count(c);
        const auto last = detail::latest_audit_checkpoint(c);
        if (n == 0 || (last && last->tree_size >= n)) return std::nullopt;
        detail::stored_tree tree(c);
        const hash256 root = detail::merkle_root(tree, n);
        if (last) {
          // Never sign a tree that does not extend the previous checkpoint.
          const hash256 old_root = detail::merkle_root(tree, last->tree_size);
          if (old_root != last->root)
            throw error(errc::conflict,
                        fmt::format("audit seal: the stored tree of {} leaves no longer has the "
                                    "root of its checkpoint ({} stored, {} signed); nothing signed",
                                    last->tree_size, to_hex(old_root), to_hex(last->root)));
          const auto proof = detail::merkle_consistency_proof(tree, last->tree_size, n);
          const auto problem =
              detail::merkle_consistency_problem(last->tree_size, n, last->root, root, proof);
          if (!problem.empty())
            throw error(errc::conflict,
                        fmt::format("audit seal: the tree of {} leaves does not extend the "
                                    "checkpoint of {}: {}; nothing signed",
                                    n, last->tree_size, problem));
        }
        std::string signed_note =
            detail::sign_checkpoint({options_.origin, n, root, {}}, *state_->signer);
        detail::insert_audit_checkpoint(c, {n, root, signed_note});
        return signed_note;
      });
  if (note) {
    if (options_.checkpoint_file) {
      std::ofstream f(*options_.checkpoint_file, std::ios::app | std::ios::binary);
      f << *note << '\n';
      if (!f)
        throw error(errc::unavailable,
                    fmt::format("audit checkpoint file {}: cannot append (the checkpoint is "
                                "stored in the database)",
                                options_.checkpoint_file->string()));
    }
    out.checkpoint = std::move(note);
  }
  return out;
}

std::optional<std::string> audit_trail::latest_checkpoint() const {
  return detail::run_transaction(db_.impl(), transaction::mode::read, "audit checkpoint",
                                 [](connection& c) -> std::optional<std::string> {
                                   auto cp = detail::latest_audit_checkpoint(c);
                                   if (!cp) return std::nullopt;
                                   return cp->note;
                                 });
}

std::uint64_t audit_trail::size() const {
  return detail::run_transaction(db_.impl(), transaction::mode::read, "audit tree size",
                                 [](connection& c) { return detail::audit_leaf_count(c); });
}

audit_leaf_proof audit_trail::prove_inclusion(const uuid& event_id,
                                              std::optional<std::uint64_t> tree_size) const {
  return detail::run_transaction(
      db_.impl(), transaction::mode::read, "audit inclusion proof", [&](connection& c) {
        const auto event = detail::find_audit_event(c, event_id);
        if (!event)
          throw error(errc::not_found,
                      fmt::format("audit event {} does not exist", event_id.str()));
        const auto index = detail::audit_leaf_index(c, event_id);
        if (!index)
          throw error(errc::conflict, fmt::format("audit event {} is not sealed yet (the sealer "
                                                  "runs every few seconds)",
                                                  event_id.str()));
        std::uint64_t size = 0;
        if (tree_size) {
          size = *tree_size;
          const auto leaves = detail::audit_leaf_count(c);
          if (size == 0 || size > leaves)
            throw error(errc::invalid_argument,
                        fmt::format("tree_size: {} is not between 1 and the {} sealed leaves", size,
                                    leaves));
        } else {
          const auto cp = detail::latest_audit_checkpoint(c);
          if (!cp)
            throw error(errc::conflict, "the audit trail has no checkpoint yet: give tree_size");
          size = cp->tree_size;
        }
        if (*index >= size)
          throw error(errc::conflict,
                      fmt::format("audit event {} is leaf {}, not within the tree of {} leaves",
                                  event_id.str(), *index, size));
        audit_leaf_proof p;
        p.event_id = event_id;
        p.leaf = leaf_bytes(*event);
        p.proof.leaf_index = *index;
        p.proof.tree_size = size;
        p.proof.hashes = detail::merkle_inclusion_proof(detail::stored_tree(c), *index, size);
        return p;
      });
}

consistency_proof audit_trail::prove_consistency(std::uint64_t from, std::uint64_t to) const {
  return detail::run_transaction(
      db_.impl(), transaction::mode::read, "audit consistency proof", [&](connection& c) {
        const auto leaves = detail::audit_leaf_count(c);
        if (from > to || to > leaves)
          throw error(errc::invalid_argument,
                      fmt::format("from and to: need 0 ≤ from ≤ to ≤ {} (the sealed leaves); got "
                                  "from {}, to {}",
                                  leaves, from, to));
        consistency_proof p;
        p.from = from;
        p.to = to;
        p.hashes = detail::merkle_consistency_proof(detail::stored_tree(c), from, to);
        return p;
      });
}

std::vector<std::string> audit_trail::leaves(std::uint64_t start, std::uint64_t end) const {
  constexpr std::uint64_t max_leaves = 1000;
  return detail::run_transaction(
      db_.impl(), transaction::mode::read, "audit leaves", [&](connection& c) {
        const auto total = detail::audit_leaf_count(c);
        if (start > end || end > total || end - start > max_leaves)
          throw error(errc::invalid_argument,
                      fmt::format("start and end: need start ≤ end ≤ {} (the sealed leaves) and "
                                  "at most {} leaves; got start {}, end {}",
                                  total, max_leaves, start, end));
        std::vector<std::string> out;
        for (const auto& e : detail::audit_leaf_events(c, start, end)) out.push_back(leaf_bytes(e));
        return out;
      });
}

request_audit_proof audit_trail::prove_request(const uuid& request_id) const {
  return detail::run_transaction(
      db_.impl(), transaction::mode::read, "request audit proof", [&](connection& c) {
        const auto cp = detail::latest_audit_checkpoint(c);
        if (!cp) throw error(errc::conflict, "the audit trail has no checkpoint yet");
        request_audit_proof out;
        out.checkpoint = cp->note;
        detail::stored_tree tree(c);
        for (const auto& [event, index] : detail::request_audit_leaves(c, request_id)) {
          if (!index || *index >= cp->tree_size)
            throw error(errc::conflict,
                        fmt::format("audit event {} of request {} is not in the latest "
                                    "checkpoint yet",
                                    event.id.str(), request_id.str()));
          audit_leaf_proof p;
          p.event_id = event.id;
          p.leaf = leaf_bytes(event);
          p.proof.leaf_index = *index;
          p.proof.tree_size = cp->tree_size;
          p.proof.hashes = detail::merkle_inclusion_proof(tree, *index, cp->tree_size);
          out.events.push_back(std::move(p));
        }
        return out;
      });
}

std::string request_audit_proof::json() const {
  boost::json::array items;
  for (const auto& e : events) {
    boost::json::array hashes;
    for (const auto& h : e.proof.hashes) hashes.emplace_back(to_hex(h));
    items.push_back(boost::json::object{{"event_id", e.event_id.str()},
                                        {"leaf_index", e.proof.leaf_index},
                                        {"tree_size", e.proof.tree_size},
                                        {"leaf", e.leaf},
                                        {"leaf_hash", to_hex(leaf_hash(e.leaf))},
                                        {"inclusion_proof", std::move(hashes)}});
  }
  boost::json::object doc{
      {"format", "trevor-audit-proof/1"}, {"checkpoint", checkpoint}, {"events", std::move(items)}};
  return boost::json::serialize(doc);
}

std::size_t verify_request_audit_proof(std::string_view json, std::string_view verifier_key) {
  boost::json::value doc;
  try {
    doc = boost::json::parse(json);
  } catch (const std::exception& e) {
    throw error(errc::invalid_argument, fmt::format("audit proof: not JSON ({})", e.what()));
  }
  if (!doc.is_object()) throw error(errc::invalid_argument, "audit proof: not a JSON object");
  const auto& o = doc.as_object();
  only_keys(o, {"format", "checkpoint", "events"}, "audit proof");
  if (json_string(o, "format", "audit proof") != "trevor-audit-proof/1")
    throw error(errc::invalid_argument,
                "audit proof: unknown format (trevor-audit-proof/1 expected)");
  const checkpoint cp = [&] {
    try {
      return verify_checkpoint(json_string(o, "checkpoint", "audit proof"), verifier_key);
    } catch (const error& e) {
      throw error(errc::invalid_argument, fmt::format("audit proof: {}", e.what()));
    }
  }();
  const auto* events = o.if_contains("events");
  if (!events || !events->is_array())
    throw error(errc::invalid_argument, "audit proof: \"events\" is missing or not an array");
  std::size_t n = 0;
  for (const auto& item : events->as_array()) {
    const std::string what = fmt::format("audit proof: event {}", n + 1);
    if (!item.is_object()) throw error(errc::invalid_argument, what + ": not an object");
    const auto& ev = item.as_object();
    only_keys(ev, {"event_id", "leaf_index", "tree_size", "leaf", "leaf_hash", "inclusion_proof"},
              what);
    const std::string event_id = json_string(ev, "event_id", what);
    const std::string leaf = json_string(ev, "leaf", what);
    inclusion_proof proof;
    proof.leaf_index = json_uint(ev, "leaf_index", what);
    proof.tree_size = json_uint(ev, "tree_size", what);
    if (proof.tree_size != cp.tree_size)
      throw error(errc::invalid_argument,
                  fmt::format("{} ({}): proved in a tree of {} leaves, the checkpoint has {}", what,
                              event_id, proof.tree_size, cp.tree_size));
    const auto* hashes = ev.if_contains("inclusion_proof");
    if (!hashes || !hashes->is_array())
      throw error(errc::invalid_argument,
                  what + ": \"inclusion_proof\" is missing or not an array");
    for (const auto& h : hashes->as_array()) {
      if (!h.is_string())
        throw error(errc::invalid_argument, what + ": a proof hash is not a string");
      proof.hashes.push_back(audit_hash_from_hex(std::string_view(h.as_string())));
    }
    // The leaf must be the event it claims to be.
    boost::json::value leaf_doc;
    try {
      leaf_doc = boost::json::parse(leaf);
    } catch (const std::exception&) {
      throw error(errc::invalid_argument,
                  fmt::format("{} ({}): its leaf is not JSON", what, event_id));
    }
    const auto* id = leaf_doc.is_object() ? leaf_doc.as_object().if_contains("id") : nullptr;
    if (!id || !id->is_string() || id->as_string() != event_id)
      throw error(errc::invalid_argument,
                  fmt::format("{} ({}): its leaf is the event {}, not this one", what, event_id,
                              id && id->is_string() ? std::string(id->as_string()) : "?"));
    if (json_string(ev, "leaf_hash", what) != to_hex(leaf_hash(leaf)))
      throw error(errc::invalid_argument,
                  fmt::format("{} ({}): leaf_hash is not the hash of its leaf", what, event_id));
    try {
      check_inclusion(proof, leaf_hash(leaf), cp.root);
    } catch (const error& e) {
      throw error(errc::invalid_argument, fmt::format("{} ({}): {}", what, event_id, e.what()));
    }
    ++n;
  }
  return n;
}

std::string audit_verification::summary() const {
  if (!ok()) return problem;
  return fmt::format("audit trail verified: {} leaves, {} events, {} checkpoints", tree_size,
                     events, checkpoints);
}

audit_verification audit_trail::verify(std::string_view verifier_key,
                                       std::optional<std::string_view> trusted_checkpoint,
                                       std::chrono::seconds grace) const {
  (void)detail::parse_verifier_key(verifier_key);  // invalid_argument before any work
  return detail::run_transaction(
      db_.impl(), transaction::mode::read, "audit verify", [&](connection& c) {
        audit_verification v;
        const auto fail = [&](std::string problem) {
          v.problem = std::move(problem);
          return v;
        };
        const std::uint64_t n = detail::audit_leaf_count(c);
        v.tree_size = n;
        v.events = detail::audit_event_total(c);

        // 1. Every leaf, recomputed from its event.
        detail::memory_tree tree;
        std::string problem;
        detail::for_each_audit_leaf(c, [&](const detail::stored_leaf& l) {
          if (!problem.empty() || l.index >= n) return;
          if (l.index != tree.size()) {
            problem = fmt::format("leaf {} is missing (the next stored leaf is {})", tree.size(),
                                  l.index);
            return;
          }
          if (!l.event) {
            problem = fmt::format("leaf {}: event {} (seq {}) is missing from audit_events",
                                  l.index, l.event_id.str(), l.event_seq);
            return;
          }
          std::string bytes;
          try {
            bytes = leaf_bytes(*l.event);
          } catch (const error& e) {
            problem = fmt::format("leaf {}: event {} cannot be read as a leaf: {}", l.index,
                                  l.event_id.str(), e.what());
            return;
          }
          const hash256 h = detail::merkle_leaf_hash(bytes);
          if (to_hex(h) != l.hash_hex || l.event->seq != l.event_seq) {
            problem = fmt::format(
                "leaf {}: event {} (seq {}) has changed since it was sealed: its bytes no "
                "longer hash to the leaf's hash",
                l.index, l.event_id.str(), l.event->seq);
            return;
          }
          tree.append_leaf_hash(h);
        });
        if (!problem.empty()) return fail(problem);
        if (tree.size() != n)
          return fail(fmt::format("leaves {} to {} are missing", tree.size(), n - 1));

        // 2. The stored subtree hashes (what proofs are built from).
        detail::for_each_audit_node(c, [&](const detail::new_node& node) {
          if (!problem.empty()) return;
          if (((node.id.index + 1) << node.id.level) > n) return;  // sealed after we started
          const subtree_id id = node.id;
          if (tree.subtree_hashes(std::span<const subtree_id>(&id, 1))[0] != node.hash)
            problem = fmt::format(
                "stored tree node (level {}, index {}) does not match the leaves below it",
                node.id.level, node.id.index);
        });
        if (!problem.empty()) return fail(problem);

        // 3. Every checkpoint: signed by the key, the root of the rebuilt tree.
        detail::for_each_audit_checkpoint(c, [&](const detail::stored_checkpoint& s) {
          if (!problem.empty() || s.tree_size > n) return;
          checkpoint cp;
          try {
            cp = verify_checkpoint(s.note, verifier_key);
          } catch (const error& e) {
            problem = fmt::format("checkpoint of {} leaves: {}", s.tree_size, e.what());
            return;
          }
          if (cp.tree_size != s.tree_size || cp.root != s.root) {
            problem = fmt::format(
                "checkpoint of {} leaves: its stored size or root differs from "
                "the signed note",
                s.tree_size);
            return;
          }
          if (tree.root(cp.tree_size) != cp.root) {
            problem = fmt::format(
                "checkpoint of {} leaves: its root {} is not the root of the tree rebuilt from "
                "audit_events ({}): the trail was rewritten",
                cp.tree_size, to_hex(cp.root), to_hex(tree.root(cp.tree_size)));
            return;
          }
          ++v.checkpoints;
        });
        if (!problem.empty()) return fail(problem);

        // 4. A checkpoint kept outside the database.
        if (trusted_checkpoint) {
          checkpoint cp;
          try {
            cp = verify_checkpoint(*trusted_checkpoint, verifier_key);
          } catch (const error& e) {
            return fail(fmt::format("trusted checkpoint: {}", e.what()));
          }
          if (cp.tree_size > n)
            return fail(fmt::format(
                "the tree has {} leaves, fewer than the trusted checkpoint's {}: the trail was "
                "truncated",
                n, cp.tree_size));
          if (tree.root(cp.tree_size) != cp.root)
            return fail(fmt::format(
                "the tree is not an extension of the trusted checkpoint of {} leaves: its first "
                "{} leaves have root {}, the checkpoint says {}",
                cp.tree_size, cp.tree_size, to_hex(tree.root(cp.tree_size)), to_hex(cp.root)));
        }

        // 5. Every event older than the grace period is in the tree.
        const auto cutoff = timestamp::from_sys(std::chrono::system_clock::now() - grace);
        if (auto e = detail::first_unsealed_before(c, cutoff))
          return fail(fmt::format("event {} (seq {}, {}, {}) is not in the tree", e->id.str(),
                                  e->seq, e->event_type, e->occurred_at.str()));
        return v;
      });
}

}  // namespace trevor
