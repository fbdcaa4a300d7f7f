// The verifiable audit trail through trevord, on the engine under test: the
// checkpoint, inclusion and consistency proofs and leaves over HTTP checked
// with the public key alone, who may read them (the auditor realm role:
// read-only), the sealer job with its log line and metrics, a refused seal,
// a release package's audit-proof.json, and the audit configuration.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <openssl/evp.h>
#include <boost/json.hpp>

#include "daemon/audit.hpp"
#include "daemon/metrics.hpp"
#include "harness.hpp"
#include "trevor/audit_proof.hpp"
#include "trevor/audit_trail.hpp"

namespace trevord::test {

namespace json = boost::json;
using world = project_world;

namespace {

/// An auditor under the development sign-in (realm role auditor).
constexpr const char* auditor = "dev:aud1:auditor";

const trevor::audit_key_pair& keys() {
  static const auto k = trevor::generate_audit_key("trevor.test/audit");
  return k;
}

/// The daemon signs with keys(); the sealer job runs every `seal_seconds` (0: off).
std::function<void(config&)> signing(long seal_seconds, std::string checkpoint_file = "") {
  return [=](config& c) {
    c.audit_origin = "trevor.test/audit";
    c.audit_signer_key = keys().signer_key;
    c.audit_seal_seconds = seal_seconds;
    c.audit_checkpoint_file = checkpoint_file;
  };
}

/// The same trail as the daemon's, for the test to seal with.
trevor::audit_trail trail_of(daemon& d) {
  return trevor::audit_trail(d.database().db(),
                             {.origin = "trevor.test/audit", .signer_key = keys().signer_key});
}

std::string base64_decode(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  REQUIRE(n >= 0);
  std::size_t size = static_cast<std::size_t>(n);
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --size;
  out.resize(size);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<trevor::audit_hash> hashes_of(const json::value& v) {
  std::vector<trevor::audit_hash> out;
  for (const auto& h : v.at("hashes").as_array())
    out.push_back(trevor::audit_hash_from_hex(h.as_string()));
  return out;
}

/// The ids of a request's audit events, oldest first.
std::vector<std::string> event_ids(daemon& d, const std::string& request_id) {
  std::vector<std::string> out;
  const auto trail = d.get("/requests/" + request_id + "/audit", world::admin).json();
  for (const auto& e : trail.as_array()) out.emplace_back(e.at("id").as_string());
  return out;
}

/// Waits until `ready()` holds (at most `seconds`).
template <class F>
bool eventually(F ready, double seconds = 15) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ready();
}

/// Runs statements as the database's owner would: past the insert-only triggers.
void as_owner(trevor::test::fresh_database& f, const std::vector<std::string>& statements) {
  if (f.db().kind() == trevor::engine::postgresql) {
    auto owner = trevor::database::open(f.url(), {.pool_size = 1});
    auto l = owner.impl().acquire();
    l->sql << "SET session_replication_role = replica";
    for (const auto& s : statements) l->sql << s;
    l->sql << "SET session_replication_role = DEFAULT";
    return;
  }
  for (const char* t : {"audit_leaves", "audit_tree_nodes"})
    for (const char* what : {"update", "delete"})
      f.exec("DROP TRIGGER IF EXISTS " + std::string(t) + "_no_" + what);
  for (const auto& s : statements) f.exec(s);
}

/// The audit-proof.json entry of a package (zip entries are stored: the
/// document is a JSON object in the bytes).
std::string audit_proof_in(const std::string& zip) {
  const auto at = zip.find("{\"format\":\"trevor-audit-proof/1\"");
  REQUIRE_MESSAGE(at != std::string::npos, "no audit-proof.json in the package");
  json::parser p;
  const auto used = p.write_some(zip.data() + at, zip.size() - at);
  REQUIRE(p.release().is_object());
  return zip.substr(at, used);
}

}  // namespace

TEST_CASE("audit over HTTP: the checkpoint and every proof verify with the public key alone") {
  daemon d(signing(0));  // the test seals
  world w(d);
  const auto id = w.draft("Audited");
  w.upload(id, "a,b\n1,2\n");

  // Nothing sealed yet: no checkpoint (any user may ask), the event is not sealed.
  auto none = d.get("/audit/checkpoint", world::r1);
  CHECK(none.status == 404);
  CHECK(none.detail().find("no signed checkpoint") != std::string::npos);
  const auto ids = event_ids(d, id);
  REQUIRE(ids.size() >= 2);
  auto unsealed = d.get("/audit/proof/inclusion?event_id=" + ids[0] + "&tree_size=1", auditor);
  CHECK(unsealed.status == 409);
  CHECK(unsealed.detail().find(ids[0]) != std::string::npos);

  auto trail = trail_of(d);
  const auto first = trail.seal();
  REQUIRE(first.checkpoint);
  const auto size1 = first.tree_size;
  // More events, another checkpoint.
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  const auto second = trail.seal();
  REQUIRE(second.checkpoint);
  const auto size2 = second.tree_size;
  REQUIRE(size2 > size1);

  // The checkpoint: text/plain, readable by anyone signed in, signed by our key.
  for (const char* who : {world::r1, world::outsider, auditor, world::admin}) {
    auto cp = d.get("/audit/checkpoint", who);
    REQUIRE(cp.status == 200);
    CHECK(cp.headers.at("content-type").starts_with("text/plain"));
    CHECK(cp.body == *second.checkpoint);
  }
  const auto cp =
      trevor::verify_checkpoint(d.get("/audit/checkpoint", world::r1).body, keys().verifier_key);
  CHECK(cp.tree_size == size2);
  CHECK(cp.origin == "trevor.test/audit");

  // Every leaf: the bytes of /audit/leaves hash to what the inclusion proof proves.
  auto leaves = d.get("/audit/leaves?start=0&end=" + std::to_string(size2), auditor);
  REQUIRE(leaves.status == 200);
  CHECK(leaves.headers.at("content-type").starts_with("text/plain"));
  const auto lines = lines_of(leaves.body);
  REQUIRE(lines.size() == size2);
  for (const auto& event : event_ids(d, id)) {
    CAPTURE(event);
    auto res = d.get("/audit/proof/inclusion?event_id=" + event, auditor);
    REQUIRE(res.status == 200);
    const auto v = res.json();
    trevor::inclusion_proof p;
    p.leaf_index = v.at("leaf_index").to_number<std::uint64_t>();
    p.tree_size = v.at("tree_size").to_number<std::uint64_t>();
    p.hashes = hashes_of(v);
    CHECK(p.tree_size == size2);  // the latest checkpoint's by default
    const auto bytes = base64_decode(lines.at(p.leaf_index));
    CHECK(bytes.find(event) != std::string::npos);
    const auto leaf = trevor::leaf_hash(bytes);
    CHECK(trevor::to_hex(leaf) == v.at("leaf_hash").as_string());
    CHECK(trevor::verify_inclusion(p, leaf, cp.root));
  }
  // An explicit tree size: the first checkpoint's, for its first leaf.
  {
    const auto cp1 = trevor::verify_checkpoint(*first.checkpoint, keys().verifier_key);
    auto res =
        d.get("/audit/proof/inclusion?event_id=" + ids[0] + "&tree_size=" + std::to_string(size1),
              world::admin);
    REQUIRE(res.status == 200);
    const auto v = res.json();
    trevor::inclusion_proof p{v.at("leaf_index").to_number<std::uint64_t>(), size1, hashes_of(v)};
    CHECK(v.at("tree_size").to_number<std::uint64_t>() == size1);
    CHECK(trevor::verify_inclusion(p, trevor::leaf_hash(base64_decode(lines.at(p.leaf_index))),
                                   cp1.root));
    CHECK_FALSE(trevor::verify_inclusion(p, trevor::leaf_hash("forged"), cp1.root));

    // Consistency: the second checkpoint extends the first.
    auto cons = d.get(
        "/audit/proof/consistency?from=" + std::to_string(size1) + "&to=" + std::to_string(size2),
        auditor);
    REQUIRE(cons.status == 200);
    const auto c = cons.json();
    CHECK(c.at("from").to_number<std::uint64_t>() == size1);
    CHECK(c.at("to").to_number<std::uint64_t>() == size2);
    trevor::consistency_proof cp_proof{size1, size2, hashes_of(c)};
    CHECK(trevor::verify_consistency(cp_proof, cp1.root, cp.root));
  }

  // Bad query values: 422 naming the parameter.
  const std::vector<std::pair<std::string, std::string>> bad{
      {"/audit/proof/inclusion", "event_id"},
      {"/audit/proof/inclusion?event_id=nope", "event_id"},
      {"/audit/proof/inclusion?event_id=" + ids[0] + "&tree_size=0", "tree_size"},
      {"/audit/proof/inclusion?event_id=" + ids[0] + "&tree_size=x", "tree_size"},
      {"/audit/proof/inclusion?event_id=" + ids[0] + "&tree_size=999999", "tree_size"},
      {"/audit/proof/consistency?to=2", "from"},
      {"/audit/proof/consistency?from=3&to=2", "from"},
      {"/audit/proof/consistency?from=1&to=-2", "to"},
      {"/audit/proof/consistency?from=1&to=999999", "to"},
      {"/audit/leaves?end=2", "start"},
      {"/audit/leaves?start=0", "end"},
      {"/audit/leaves?start=0&end=1001", "end"},
      {"/audit/leaves?start=0&end=999999", "end"},
  };
  for (const auto& [target, param] : bad) {
    CAPTURE(target);
    auto res = d.get(target, auditor);
    CHECK(res.status == 422);
    CHECK(res.detail().find(param) != std::string::npos);
  }
  // An unknown event: 404.
  CHECK(d.get("/audit/proof/inclusion?event_id=" + trevor::uuid::v7().str(), auditor).status ==
        404);
}

TEST_CASE("audit over HTTP: proofs and leaves are for tre_admin and auditors; auditors only read") {
  daemon d(signing(1));
  world w(d);
  const auto id = w.submitted();
  REQUIRE(eventually([&] { return d.get("/audit/checkpoint", world::r1).status == 200; }));
  const auto event = event_ids(d, id).front();
  REQUIRE(eventually([&] {
    return d.get("/audit/proof/inclusion?event_id=" + event, world::admin).status == 200;
  }));
  const std::vector<std::string> readers{"/audit/proof/inclusion?event_id=" + event,
                                         "/audit/proof/consistency?from=1&to=1",
                                         "/audit/leaves?start=0&end=1"};
  for (const auto& target : readers) {
    CAPTURE(target);
    for (const char* who : {world::r1, world::c1, world::s1, world::outsider}) {
      CAPTURE(who);
      CHECK(d.get(target, who).status == 403);
    }
    CHECK(d.get(target, "dev:sdc-bot:trevor_agent").status == 403);
    CHECK(d.get(target, "").status == 401);
    CHECK(d.get(target, auditor).status == 200);
    CHECK(d.get(target, world::admin).status == 200);
  }
  CHECK(d.get("/audit/checkpoint", "dev:sdc-bot:trevor_agent").status == 200);
  CHECK(d.get("/audit/checkpoint", "").status == 401);

  // The auditor reads every request, its objects' metadata, reviews and
  // audit trail, and the admin read models — without being on the project.
  const auto objects = d.get("/requests/" + id + "/objects", auditor);
  REQUIRE(objects.status == 200);
  const auto oid = str(objects.json().as_array().at(0), "id");
  for (const std::string& target : std::vector<std::string>{
           "/requests/" + id, "/requests/" + id + "/audit", "/requests/" + id + "/reviews",
           "/requests/" + id + "/objects/" + oid + "/metadata", "/requests", "/admin/audit",
           "/admin/requests", "/admin/metrics", "/users"}) {
    CAPTURE(target);
    auto res = d.get(target, auditor);
    CHECK_MESSAGE(res.status == 200, res.body);
  }
  CHECK(d.get("/requests/" + id + "/objects/" + oid + "/content", auditor).status == 403);
  // ... and changes nothing: every write is 403, whatever else it holds.
  const char* auditor_admin = "dev:aud2:auditor,tre_admin";
  for (const char* who : {auditor, auditor_admin}) {
    CAPTURE(who);
    auto created = d.post(
        "/requests", who,
        json::object{{"project_id", w.project_id}, {"direction", "egress"}, {"title", "no"}});
    CHECK(created.status == 403);
    CHECK(created.detail().find("auditor") != std::string::npos);
    CHECK(d.post("/requests/" + id + "/reviews", who,
                 json::object{{"decision", "approved"}, {"summary", "ok"}})
              .status == 403);
    CHECK(d.post("/requests/" + id + "/withdraw", who).status == 403);
    CHECK(d.patch("/requests/" + id + "/objects/" + oid + "/metadata", who,
                  json::object{{"title", "x"}})
              .status == 403);
    CHECK(d.post("/memberships", who,
                 json::object{{"user_id", w.user_ids.at("outsider")},
                              {"project_id", w.project_id},
                              {"role", "researcher"}})
              .status == 403);
    CHECK(d.post("/notifications/mark-all-read", who).status == 403);
  }
}

TEST_CASE(
    "audit sealer: signs checkpoints, appends them to the file, counts them; a refused "
    "seal is counted and /readyz stays up") {
  trevor::test::temp_dir dir;
  const auto file = dir.path() + "/checkpoints.txt";
  daemon d(signing(1, file));
  world w(d);
  w.draft("Sealed");
  REQUIRE(eventually([&] { return d.get("/audit/checkpoint", world::r1).status == 200; }));
  const auto note = d.get("/audit/checkpoint", world::r1).body;
  // The sealer appends the checkpoint to the file and counts it after its
  // transaction committed, so a reader may see the stored one first.
  const auto file_text = [&] {
    std::ifstream in(file);
    std::stringstream copy;
    copy << in.rdbuf();
    return copy.str();
  };
  CHECK(eventually([&] { return file_text().find(note) != std::string::npos; }));
  std::string metrics;
  CHECK(eventually([&] {
    metrics = d.get("/metrics", "").body;
    return metrics.find("trevord_audit_checkpoints_signed_total 0\n") == std::string::npos;
  }));
  CHECK(metrics.find("trevord_audit_checkpoints_signed_total ") != std::string::npos);
  CHECK(metrics.find("trevord_audit_checkpoints_signed_total 0\n") == std::string::npos);
  CHECK(metrics.find("trevord_audit_seal_failures_total 0\n") != std::string::npos);
  CHECK(metrics.find("trevord_audit_tree_size 0\n") == std::string::npos);

  // The stored tree rewritten as its owner: the sealer refuses to sign the
  // next tree, says so, and the daemon stays ready.
  as_owner(d.database(), {"UPDATE audit_leaves SET leaf_hash = '" + std::string(64, '0') + "'",
                          "UPDATE audit_tree_nodes SET hash = '" + std::string(64, '0') + "'"});
  w.draft("After the rewrite");
  REQUIRE(eventually([&] {
    return d.get("/metrics", "").body.find("trevord_audit_seal_failures_total 0\n") ==
           std::string::npos;
  }));
  CHECK(d.get("/audit/checkpoint", world::r1).body == note);  // nothing new signed
  CHECK(d.get("/readyz", "").status == 200);

  // The same refusal through the job's function: counted once more.
  trevord::metrics m;
  auto trail = trail_of(d);
  seal_audit_trail(trail, m);
  CHECK(m.audit.seal_failures == 1);
  CHECK(m.audit.checkpoints_signed == 0);
}

TEST_CASE("audit: a release package's audit-proof.json verifies with the public key alone") {
  daemon d(signing(1));
  world w(d);
  const auto id = w.submitted();
  for (const char* who : {world::c1, world::c2})
    REQUIRE(d.post("/requests/" + id + "/reviews", who,
                   json::object{{"decision", "approved"}, {"summary", "ok"}})
                .status == 201);
  auto rel = d.post("/requests/" + id + "/release", world::admin);
  REQUIRE_MESSAGE(rel.status == 202, rel.body);
  const auto url = str(rel.json(), "download_url");
  auto zip = d.get(url.substr(url.find("/requests/")), "");
  REQUIRE(zip.status == 200);
  const auto proof = audit_proof_in(zip.body);
  const auto n = trevor::verify_request_audit_proof(proof, keys().verifier_key);
  CHECK(n >= 5);
  CHECK(proof.find("request.approved") != std::string::npos);
  // One byte changed: refused.
  auto tampered = proof;
  const auto at = tampered.find("request.approved");
  tampered[at + 8] = 'A';
  CHECK_THROWS_AS(trevor::verify_request_audit_proof(tampered, keys().verifier_key), trevor::error);
  // Another key: refused.
  CHECK_THROWS_AS(trevor::verify_request_audit_proof(
                      proof, trevor::generate_audit_key("trevor.test/audit").verifier_key),
                  trevor::error);
}

TEST_CASE("audit configuration: the key is required outside development; one kept beside SQLite") {
  auto load = [](const std::map<std::string, std::string>& vars) { return config_from(vars); };
  auto message = [](const std::map<std::string, std::string>& vars, bool serving) {
    return config_refusal(vars, serving);
  };
  trevor::test::temp_dir dir;
  const auto key_file = dir.path() + "/audit.key";
  std::ofstream(key_file) << keys().signer_key << "\n";
  const auto bad_file = dir.path() + "/bad.key";
  std::ofstream(bad_file) << keys().verifier_key << "\n";

  const auto c = load({});
  CHECK(c.audit_origin == "trevor.local/audit");
  CHECK(c.audit_seal_seconds == 1);
  CHECK(c.audit_signer_key.empty());
  const auto set = load({{"TREVOR_AUDIT_SIGNING_KEY", key_file},
                         {"TREVOR_AUDIT_ORIGIN", "tre.example.org/audit"},
                         {"TREVOR_AUDIT_SEAL_SECONDS", "5"},
                         {"TREVOR_AUDIT_CHECKPOINT_FILE", "/var/lib/x"}});
  CHECK(set.audit_signer_key == keys().signer_key);
  CHECK(set.audit_origin == "tre.example.org/audit");
  CHECK(set.audit_seal_seconds == 5);
  CHECK(set.audit_checkpoint_file == "/var/lib/x");
  CHECK(trevor::audit_verifier_key(*audit_signer_key_of(set)) == keys().verifier_key);

  // Every problem named, in one run.
  const auto all = message({{"TREVOR_AUDIT_SIGNING_KEY", bad_file},
                            {"TREVOR_AUDIT_ORIGIN", "has space"},
                            {"TREVOR_AUDIT_SEAL_SECONDS", "soon"}},
                           false);
  CHECK(all.find("TREVOR_AUDIT_SIGNING_KEY: '" + bad_file +
                 "' is not a file holding a signer key") != std::string::npos);
  CHECK(all.find("TREVOR_AUDIT_ORIGIN") != std::string::npos);
  CHECK(all.find("TREVOR_AUDIT_SEAL_SECONDS") != std::string::npos);
  CHECK(message({{"TREVOR_AUDIT_SIGNING_KEY", dir.path() + "/missing"}}, false)
            .find("a readable file") != std::string::npos);

  // Production: refused at start without the key; the migrate commands need none.
  const std::map<std::string, std::string> prod{{"TREVOR_ENV", "production"},
                                                {"DATABASE_URL", "postgresql://h/db"},
                                                {"TREVOR_JWKS_URL", "https://kc/certs"},
                                                {"TREVOR_OIDC_ISSUER", "https://kc"},
                                                {"TREVOR_OIDC_AUDIENCE", "trevor"},
                                                {"TREVOR_LINK_SECRET", std::string(40, 'x')}};
  CHECK(message(prod, false).empty());
  CHECK(message(prod, true).find("TREVOR_AUDIT_SIGNING_KEY: not set") != std::string::npos);
  auto with_key = prod;
  with_key["TREVOR_AUDIT_SIGNING_KEY"] = key_file;
  CHECK(message(with_key, true).empty());
  CHECK_FALSE(audit_signer_key_of(load(prod)).has_value());

  // Development without a key: one generated beside the SQLite file (0600)
  // and kept; in memory for :memory:.
  const auto db_file = dir.path() + "/dev.db";
  auto dev = load({{"DATABASE_URL", "sqlite:///" + db_file}});
  const auto generated = audit_signer_key_of(dev);
  REQUIRE(generated);
  struct stat st {};
  REQUIRE(::stat((db_file + ".audit-key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(audit_signer_key_of(dev) == generated);
  const auto in_memory = audit_signer_key_of(load({{"DATABASE_URL", "sqlite:///:memory:"}}));
  REQUIRE(in_memory);
  CHECK(*in_memory != *generated);
  CHECK_NOTHROW(trevor::audit_verifier_key(*in_memory));
}

}  // namespace trevord::test
