// Embedding the airlock: one egress request from creation through approval to
// its release on an in-memory SQLite database. Prints the audit trail, then
// reads the release package back through its link token and checks it against
// the release record; the last line is the verdict.
//
//   airlock_workflow [DATABASE_URL]     (default sqlite:///:memory:)
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include <trevor/trevor.hpp>

namespace {

/// Lower-case hex SHA-256 of the bytes fed to it, with OpenSSL's EVP
/// interface (the example checks the package independently of libtrevor).
class sha256_hasher {
 public:
  sha256_hasher() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~sha256_hasher() { EVP_MD_CTX_free(ctx_); }
  sha256_hasher(const sha256_hasher&) = delete;
  sha256_hasher& operator=(const sha256_hasher&) = delete;
  void update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, digest, &n);
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
      char two[3];
      std::snprintf(two, sizeof two, "%02x", digest[i]);
      out += two;
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

int main(int argc, char** argv) {
  const char* url = argc > 1 ? argv[1] : "sqlite:///:memory:";
  const auto storage =
      std::filesystem::temp_directory_path() / ("airlock-example-" + trevor::uuid::v7().str());
  int rc = 1;
  try {
    auto db = trevor::database::open(url);
    trevor::migrator(db).up();
    trevor::filesystem_blob_store blobs(storage);
    trevor::directory people(db);
    trevor::workflow airlock(db, blobs);  // two reviewers per round, agent off

    // Identities arrive from the identity provider's claims.
    auto person = [&](const char* name, bool admin = false) {
      const auto u = people.upsert_user({std::string("sub-") + name, name, "", name, "", ""});
      return trevor::actor{u.id, admin};
    };
    const auto admin = person("admin", true);
    const auto rita = person("rita"), chen = person("chen"), carla = person("carla");
    const trevor::project_spec project{trevor::uuid::v7(), "cohort-study", "Cohort study"};
    people.reconcile_projects(admin, std::span(&project, 1));
    people.add_membership(admin, rita.user_id, project.id, trevor::membership_role::researcher);
    people.add_membership(admin, chen.user_id, project.id, trevor::membership_role::output_checker);
    people.add_membership(admin, carla.user_id, project.id,
                          trevor::membership_role::output_checker);

    // The researcher asks to take a table out; two checkers approve it.
    const auto req = airlock.requests.create(
        rita, {project.id, trevor::direction::egress, "Table 2 for the paper", ""});
    trevor::new_object table;
    table.filename = "table2.csv";
    table.output_type = trevor::output_type::tabular;
    airlock.objects.add(rita, req.id, table,
                        trevor::string_reader("age_band,n\n40-49,112\n50-59,97\n"));
    airlock.requests.submit(rita, req.id);
    trevor::human_review_input ok;
    ok.decision = trevor::review_decision::approved;
    ok.summary = "no cell below 10";
    airlock.reviews.record(chen, req.id, ok);
    airlock.reviews.record(carla, req.id, ok);

    const auto approved = airlock.requests.get(rita, req.id);
    std::printf("request \"%s\" is %s\n", approved.title.c_str(),
                std::string(trevor::to_string(approved.status)).c_str());

    // An administrator releases it: an RO-Crate zip with a signed download
    // link. The record carries the link's token, which is all a download needs.
    const auto release = airlock.releases.release(admin, req.id);
    const auto download = airlock.releases.download(req.id, release.link_token,
                                                    {"127.0.0.1", "airlock_workflow example"});
    sha256_hasher hash;
    std::int64_t size = 0;
    airlock.releases.read_blob(download, [&](std::string_view chunk) {
      hash.update(chunk);
      size += static_cast<std::int64_t>(chunk.size());
    });
    const bool verified =
        hash.hex() == release.crate_checksum_sha256 && size == download.size_bytes;

    trevor::audit_query q;
    q.request_id = req.id;
    q.order = trevor::audit_order::oldest_first;
    const auto trail = trevor::audit_log(db).query(q).items;
    for (const auto& e : trail) std::printf("  %s\n", e.event_type.c_str());
    std::printf("%zu audit events\n", trail.size());

    const auto done = airlock.requests.get(rita, req.id);
    std::printf("request %s is %s; package of %lld bytes read back, sha256 %s\n",
                done.id.str().c_str(), std::string(trevor::to_string(done.status)).c_str(),
                static_cast<long long>(size), verified ? "verified" : "MISMATCH");
    rc = done.status == trevor::request_status::released && verified ? 0 : 1;
  } catch (const trevor::error& e) {
    std::fprintf(stderr, "airlock_workflow: %s (%s)\n", e.what(),
                 std::string(trevor::to_string(e.code())).c_str());
  }
  std::filesystem::remove_all(storage);
  return rc;
}
