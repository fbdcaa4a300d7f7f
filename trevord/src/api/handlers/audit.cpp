// The verifiable audit trail: the latest signed checkpoint (any
// authenticated user), inclusion and consistency proofs and the canonical
// leaf bytes (tre_admin and auditors: the library's actor::oversees()).
#include <cstdint>
#include <limits>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "api/handlers/handlers.hpp"
#include "api/json_io.hpp"
#include "trevor/audit_proof.hpp"
#include "trevor/audit_trail.hpp"

namespace trevord::handlers {

namespace {

constexpr long long max_tree_size = std::numeric_limits<std::int64_t>::max();

/// A required whole-number query parameter (422 naming it when missing or bad).
std::uint64_t required_size(const call& c, std::string_view name) {
  const auto n = c.query_integer(name, 0, max_tree_size);
  if (!n) invalid(name, "required");
  return static_cast<std::uint64_t>(*n);
}

json::array hex_list(const std::vector<trevor::audit_hash>& hashes) {
  json::array out;
  for (const auto& h : hashes) out.emplace_back(trevor::to_hex(h));
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// The proofs and leaves are for those who oversee the TRE (an active
/// tre_admin or auditor); the library decides.
void require_overseer(api& a, const call& c) {
  a.dashboard.require_overseer(person(c));
}

}  // namespace

reply audit_checkpoint(api& a, call& c) {
  // Any signed-in user (the agent too), but not a deactivated one.
  if (!c.who.agent()) {
    const auto user = a.directory.find_user(c.who.actor.user_id);
    if (!user) throw http_error(http::status::forbidden, "actor: not a known user");
    if (!user->active) throw http_error(http::status::forbidden, "actor: the user is deactivated");
  }
  auto note = a.audit.latest_checkpoint();
  if (!note)
    throw http_error(http::status::not_found,
                     "the audit trail has no signed checkpoint yet (the sealer signs one once "
                     "there are events)");
  reply r;
  r.text = std::move(*note);
  r.content_type = "text/plain; charset=utf-8";
  return r;
}

reply audit_inclusion(api& a, call& c) {
  require_overseer(a, c);
  const auto event_id = c.query_id("event_id");
  if (!event_id) invalid("event_id", "required");
  std::optional<std::uint64_t> tree_size;
  if (auto n = c.query_integer("tree_size", 1, max_tree_size))
    tree_size = static_cast<std::uint64_t>(*n);
  const auto p = a.audit.prove_inclusion(*event_id, tree_size);
  return ok(json::object{{"leaf_index", p.proof.leaf_index},
                         {"tree_size", p.proof.tree_size},
                         {"leaf_hash", trevor::to_hex(trevor::leaf_hash(p.leaf))},
                         {"hashes", hex_list(p.proof.hashes)}});
}

reply audit_consistency(api& a, call& c) {
  require_overseer(a, c);
  const auto from = required_size(c, "from");
  const auto to = required_size(c, "to");
  if (from > to) invalid("from", fmt::format("{} is larger than to ({})", from, to));
  const auto p = a.audit.prove_consistency(from, to);
  return ok(json::object{{"from", p.from}, {"to", p.to}, {"hashes", hex_list(p.hashes)}});
}

reply audit_leaves(api& a, call& c) {
  require_overseer(a, c);
  const auto start = required_size(c, "start");
  const auto end = required_size(c, "end");
  if (start > end) invalid("start", fmt::format("{} is larger than end ({})", start, end));
  if (end - start > 1000)
    invalid("end", fmt::format("at most 1000 leaves per call ({} asked)", end - start));
  reply r;
  for (const auto& leaf : a.audit.leaves(start, end)) r.text += base64(leaf) + "\n";
  r.content_type = "text/plain; charset=utf-8";
  return r;
}

}  // namespace trevord::handlers
