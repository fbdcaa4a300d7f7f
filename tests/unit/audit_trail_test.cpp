// The verifiable audit trail on the database: sealing, checkpoints, proofs,
// the insert-only tables, and verify() catching a database owner's edits.
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "audit/merkle.hpp"
#include "support.hpp"
#include "trevor/audit.hpp"
#include "trevor/audit_trail.hpp"
#include "world.hpp"

using namespace trevor;
using trevor::test::fresh_database;
using trevor::test::thrown_by;

namespace {

const audit_key_pair& key() {
  static const audit_key_pair k = generate_audit_key("trevor.test/audit");
  return k;
}

audit_trail_options signed_options(std::size_t batch = 5000) {
  return {.origin = "trevor.test/audit", .signer_key = key().signer_key, .batch = batch};
}

std::vector<audit_event> append_events(database& db, int n,
                                       const std::string& type = "test.event") {
  audit_log log(db);
  std::vector<audit_event> out;
  for (int i = 0; i < n; ++i)
    out.push_back(
        log.append({.actor = fmt::format("user{}", i % 3),
                    .event_type = type,
                    .payload_json = fmt::format(R"({{"i": {}, "note": "é \"q\""}})", i)}));
  return out;
}

// Runs statements as the database's owner would: past the insert-only
// triggers and the foreign keys.
void as_owner(fresh_database& f, const std::vector<std::string>& statements) {
  if (f.db().kind() == engine::postgresql) {
    auto owner = database::open(f.url(), {.pool_size = 1});
    auto l = owner.impl().acquire();
    l->sql << "SET session_replication_role = replica";
    for (const auto& s : statements) l->sql << s;
    l->sql << "SET session_replication_role = DEFAULT";
    return;
  }
  f.exec("PRAGMA foreign_keys = OFF");
  for (const char* t : {"audit_events", "audit_leaves", "audit_tree_nodes", "audit_checkpoints"})
    for (const char* what : {"update", "delete"})
      f.exec(fmt::format("DROP TRIGGER IF EXISTS {}_no_{}", t, what));
  for (const auto& s : statements) f.exec(s);
  f.exec("PRAGMA foreign_keys = ON");
}

}  // namespace

TEST_CASE("sealing gives each event one dense leaf, signs a checkpoint, and proves it") {
  fresh_database f;
  auto events = append_events(f.db(), 37);
  audit_trail trail(f.db(), signed_options());

  auto first = trail.seal();
  CHECK(first.sealed == 37);
  CHECK(first.tree_size == 37);
  REQUIRE(first.checkpoint);
  const checkpoint cp1 = verify_checkpoint(*first.checkpoint, key().verifier_key);
  CHECK(cp1.origin == "trevor.test/audit");
  CHECK(cp1.tree_size == 37);
  CHECK(trail.latest_checkpoint() == first.checkpoint);

  // The root is the RFC 9162 root of the leaves' canonical bytes, computed
  // here independently of the stored nodes.
  const auto bytes = trail.leaves(0, 37);
  REQUIRE(bytes.size() == 37);
  detail::memory_tree independent;
  for (const auto& b : bytes) independent.append_leaf(b);
  CHECK(independent.root() == cp1.root);
  // Leaves are in seq order and name their events.
  CHECK(bytes[0].find(events[0].id.str()) != std::string::npos);
  CHECK(bytes[36].find(events[36].id.str()) != std::string::npos);

  // Idempotent: nothing new, nothing signed.
  auto again = trail.seal();
  CHECK(again.sealed == 0);
  CHECK(again.tree_size == 37);
  CHECK_FALSE(again.checkpoint);
  CHECK(f.count("SELECT count(*) FROM audit_checkpoints") == 1);

  auto more = append_events(f.db(), 5);
  auto second = trail.seal();
  CHECK(second.sealed == 5);
  REQUIRE(second.checkpoint);
  const checkpoint cp2 = verify_checkpoint(*second.checkpoint, key().verifier_key);
  CHECK(cp2.tree_size == 42);

  // Consistency between the two checkpoints.
  const auto cons = trail.prove_consistency(37, 42);
  CHECK(verify_consistency(cons, cp1.root, cp2.root));
  CHECK_FALSE(verify_consistency(cons, cp2.root, cp1.root));

  // Every event's inclusion in the latest checkpoint, and in the older tree.
  events.insert(events.end(), more.begin(), more.end());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto p = trail.prove_inclusion(events[i].id);
    CHECK(p.proof.leaf_index == i);
    CHECK(p.proof.tree_size == 42);
    CHECK(verify_inclusion(p.proof, leaf_hash(p.leaf), cp2.root));
  }
  const auto old = trail.prove_inclusion(events[3].id, 37);
  CHECK(verify_inclusion(old.proof, leaf_hash(old.leaf), cp1.root));
  CHECK(thrown_by([&] { trail.prove_inclusion(events[40].id, 37); }).code() == errc::conflict);
  CHECK(thrown_by([&] { trail.prove_inclusion(uuid::v7()); }).code() == errc::not_found);
  CHECK(thrown_by([&] { trail.prove_inclusion(events[0].id, 43); }).code() ==
        errc::invalid_argument);
  CHECK(thrown_by([&] { (void)trail.leaves(0, 43); }).code() == errc::invalid_argument);

  auto unsealed = append_events(f.db(), 1);
  CHECK(thrown_by([&] { trail.prove_inclusion(unsealed[0].id); }).code() == errc::conflict);

  const auto v = trail.verify(key().verifier_key);
  CHECK_MESSAGE(v.ok(), v.problem);
  CHECK(v.tree_size == 42);
  CHECK(v.checkpoints == 2);
  CHECK(v.summary() == "audit trail verified: 42 leaves, 43 events, 2 checkpoints");
}

TEST_CASE("sealing in small batches builds the same tree, and a new sealer picks up late events") {
  fresh_database f;
  append_events(f.db(), 50);
  audit_trail small(f.db(), signed_options(7));
  auto r = small.seal();
  CHECK(r.sealed == 50);
  REQUIRE(r.checkpoint);
  detail::memory_tree independent;
  for (const auto& b : small.leaves(0, 50)) independent.append_leaf(b);
  CHECK(verify_checkpoint(*r.checkpoint, key().verifier_key).root == independent.root());
  // Every stored node matches the independent tree.
  CHECK(f.count("SELECT count(*) FROM audit_tree_nodes") == 50 - 3);  // n - popcount(50)
  CHECK(small.verify(key().verifier_key).ok());
}

TEST_CASE("without a signer key the trail is sealed but nothing is signed") {
  fresh_database f;
  append_events(f.db(), 4);
  audit_trail trail(f.db());
  auto r = trail.seal();
  CHECK(r.sealed == 4);
  CHECK_FALSE(r.checkpoint);
  CHECK_FALSE(trail.latest_checkpoint());
  CHECK(thrown_by([&] { trail.prove_inclusion(uuid::v7()); }).code() == errc::not_found);
  // A bad key is refused up front.
  CHECK(thrown_by([&] { audit_trail(f.db(), {.signer_key = "PRIVATE+KEY+nonsense"}); }).code() ==
        errc::invalid_argument);
}

TEST_CASE("sealers on several connections at once give every event exactly one leaf") {
  fresh_database f(true, 4, true);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    audit_log log(f.db());
    for (int i = 0; i < 120; ++i)
      log.append({.actor = "w", .event_type = "test.concurrent", .payload_json = "{}"});
    stop = true;
  });
  std::vector<std::thread> sealers;
  for (int s = 0; s < 3; ++s)
    sealers.emplace_back([&] {
      audit_trail trail(f.db(), signed_options(10));
      while (!stop) trail.seal();
      trail.seal();
    });
  writer.join();
  for (auto& t : sealers) t.join();
  audit_trail(f.db(), signed_options()).seal();
  CHECK(f.count("SELECT count(*) FROM audit_leaves") == 120);
  CHECK(f.count("SELECT count(DISTINCT event_id) FROM audit_leaves") == 120);
  CHECK(f.count("SELECT max(leaf_index) FROM audit_leaves") == 119);
  const auto v = audit_trail(f.db()).verify(key().verifier_key);
  CHECK_MESSAGE(v.ok(), v.problem);
}

TEST_CASE("the audit tree's tables refuse UPDATE and DELETE from the application") {
  fresh_database f;
  append_events(f.db(), 3);
  audit_trail(f.db(), signed_options()).seal();
  for (const char* sql :
       {"UPDATE audit_leaves SET leaf_hash = leaf_hash", "DELETE FROM audit_leaves",
        "UPDATE audit_tree_nodes SET hash = hash", "DELETE FROM audit_tree_nodes",
        "UPDATE audit_checkpoints SET note = note", "DELETE FROM audit_checkpoints"}) {
    CAPTURE(sql);
    const auto e = f.exec_fails(sql);
    CHECK(std::string(e.what()).find("insert-only") != std::string::npos);
  }
  if (f.db().kind() == engine::postgresql) {
    for (const char* t : {"audit_leaves", "audit_tree_nodes", "audit_checkpoints"}) {
      CAPTURE(t);
      CHECK(std::string(f.exec_fails(fmt::format("TRUNCATE {}", t)).what()).find("insert-only") !=
            std::string::npos);
    }
  }
  CHECK(f.count("SELECT count(*) FROM audit_leaves") == 3);
}

TEST_CASE("verify names what a database owner changed") {
  fresh_database f;
  auto events = append_events(f.db(), 20);
  audit_trail trail(f.db(), signed_options());
  const auto sealed = trail.seal();
  REQUIRE(sealed.checkpoint);
  const std::string trusted = *sealed.checkpoint;
  REQUIRE(trail.verify(key().verifier_key, trusted).ok());

  SUBCASE("a changed payload") {
    as_owner(f, {fmt::format("UPDATE audit_events SET payload = '{{\"i\": 999}}' WHERE id = '{}'",
                             events[7].id.str())});
    const auto v = trail.verify(key().verifier_key, trusted);
    CHECK(v.problem.find("leaf 7") != std::string::npos);
    CHECK(v.problem.find(events[7].id.str()) != std::string::npos);
    CHECK(v.problem.find("changed") != std::string::npos);
  }
  SUBCASE("a deleted event") {
    as_owner(f, {fmt::format("DELETE FROM audit_events WHERE id = '{}'", events[12].id.str())});
    const auto v = trail.verify(key().verifier_key, trusted);
    CHECK(v.problem.find("leaf 12") != std::string::npos);
    CHECK(v.problem.find("missing") != std::string::npos);
  }
  SUBCASE("a forged event inserted into the past") {
    const std::string forged = uuid::v7().str();
    as_owner(f,
             {fmt::format("INSERT INTO audit_events (id, occurred_at, actor, event_type, payload) "
                          "VALUES ('{}', '2020-01-01T00:00:00.000000Z', 'mallory', "
                          "'request.approved', '{{}}')",
                          forged)});
    const auto v = trail.verify(key().verifier_key, trusted);
    CHECK(v.problem.find(forged) != std::string::npos);
    CHECK(v.problem.find("not in the tree") != std::string::npos);
  }
  SUBCASE("two events swapped") {
    as_owner(f,
             {fmt::format("UPDATE audit_events SET payload = '{{\"i\": 4, \"note\": \"swap\"}}', "
                          "actor = 'user2' WHERE id = '{}'",
                          events[3].id.str()),
              fmt::format("UPDATE audit_events SET payload = '{{\"i\": 3, \"note\": \"swap\"}}', "
                          "actor = 'user1' WHERE id = '{}'",
                          events[4].id.str())});
    const auto v = trail.verify(key().verifier_key, trusted);
    CHECK(v.problem.find("leaf 3") != std::string::npos);
  }
  SUBCASE("a truncated tail, its leaves, nodes and checkpoints removed too") {
    as_owner(f, {"DELETE FROM audit_checkpoints", "DELETE FROM audit_tree_nodes",
                 "DELETE FROM audit_leaves WHERE leaf_index >= 17",
                 fmt::format("DELETE FROM audit_events WHERE seq >= {}", events[17].seq)});
    // The nodes go too: a fresh sealer rebuilds and re-signs the shorter log.
    as_owner(f, {"DELETE FROM audit_leaves"});
    audit_trail(f.db(), signed_options()).seal();
    CHECK(trail.verify(key().verifier_key).ok());              // consistent in itself...
    const auto v = trail.verify(key().verifier_key, trusted);  // ...but not with the copy outside
    CHECK(v.problem.find("truncated") != std::string::npos);
  }
  SUBCASE("the whole log rebuilt and re-signed with another key") {
    as_owner(f, {"DELETE FROM audit_checkpoints", "DELETE FROM audit_tree_nodes",
                 "DELETE FROM audit_leaves",
                 fmt::format("UPDATE audit_events SET payload = '{{}}' WHERE id = '{}'",
                             events[0].id.str())});
    const auto other = generate_audit_key("trevor.test/audit");
    audit_trail(f.db(), {.origin = "trevor.test/audit", .signer_key = other.signer_key}).seal();
    CHECK(audit_trail(f.db()).verify(other.verifier_key).ok());
    const auto v = trail.verify(key().verifier_key);
    CHECK(v.problem.find("checkpoint of 20 leaves") != std::string::npos);
    const auto t = trail.verify(other.verifier_key, trusted);
    CHECK(t.problem.find("trusted checkpoint") != std::string::npos);
  }
  SUBCASE("a stored node rewritten") {
    // The subtree over leaves 0-15: part of every root from 16 leaves on.
    as_owner(f, {"UPDATE audit_tree_nodes SET hash = '" + std::string(64, 'a') +
                 "' WHERE level = 4 AND node_index = 0"});
    const auto v = trail.verify(key().verifier_key);
    CHECK(v.problem.find("level 4, index 0") != std::string::npos);
    // And the sealer refuses to sign on top of it.
    append_events(f.db(), 1);
    const auto e = thrown_by([&] { trail.seal(); });
    CHECK(e.code() == errc::conflict);
    CHECK(std::string(e.what()).find("nothing signed") != std::string::npos);
  }
}

TEST_CASE(
    "a request's audit proof verifies with only the public key, and one changed byte fails it") {
  trevor::test::world w;
  const auto req = w.submitted(2);
  audit_trail trail(w.fdb.db(), signed_options());
  CHECK(thrown_by([&] { trail.prove_request(req.id); }).code() == errc::conflict);
  trail.seal();
  const auto proof = trail.prove_request(req.id);
  const auto trail_events = w.trail(req.id);
  REQUIRE(proof.events.size() == trail_events.size());
  CHECK(proof.events.size() >= 4);
  const std::string json = proof.json();
  CHECK(verify_request_audit_proof(json, key().verifier_key) == proof.events.size());

  // Any one byte changed (each in turn, flipped in its lowest bit) is refused.
  std::size_t refused = 0;
  for (std::size_t i = 0; i < json.size(); ++i) {
    std::string changed = json;
    changed[i] = static_cast<char>(changed[i] ^ 1);
    try {
      verify_request_audit_proof(changed, key().verifier_key);
    } catch (const error& e) {
      if (e.code() == errc::invalid_argument) ++refused;
      continue;
    }
    FAIL("byte ", i,
         " changed and the proof still verified: ", json.substr(i < 40 ? 0 : i - 40, 80));
  }
  CHECK(refused == json.size());

  // One byte of a leaf changed.
  std::string tampered = json;
  const auto at = tampered.find("\\\"event_type\\\"");
  REQUIRE(at != std::string::npos);
  tampered[at + 4] = 'E';
  const auto e = thrown_by([&] { verify_request_audit_proof(tampered, key().verifier_key); });
  CHECK(e.code() == errc::invalid_argument);
  CHECK(std::string(e.what()).find("audit proof: event") != std::string::npos);

  // Another key, or a changed checkpoint.
  const auto other = generate_audit_key("trevor.test/audit");
  CHECK(thrown_by([&] { verify_request_audit_proof(json, other.verifier_key); }).code() ==
        errc::invalid_argument);
  std::string resized = json;
  const auto size_at = resized.find(fmt::format("\\n{}\\n", proof.events[0].proof.tree_size));
  REQUIRE(size_at != std::string::npos);
  resized[size_at + 2] = resized[size_at + 2] == '9' ? '8' : '9';
  CHECK(thrown_by([&] { verify_request_audit_proof(resized, key().verifier_key); }).code() ==
        errc::invalid_argument);
}

TEST_CASE("each signed checkpoint is appended to the checkpoint file") {
  fresh_database f;
  trevor::test::temp_dir dir;
  auto opts = signed_options();
  opts.checkpoint_file = std::filesystem::path(dir.path()) / "checkpoints.log";
  audit_trail trail(f.db(), opts);
  append_events(f.db(), 2);
  const auto a = trail.seal();
  append_events(f.db(), 2);
  const auto b = trail.seal();
  REQUIRE(a.checkpoint);
  REQUIRE(b.checkpoint);
  std::ifstream in(*opts.checkpoint_file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == *a.checkpoint + "\n" + *b.checkpoint + "\n");
}
