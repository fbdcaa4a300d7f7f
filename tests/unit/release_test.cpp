// Release (egress) and delivery (ingress) end to end in the library: the
// RO-Crate package and its metadata, tampering caught between approval and
// release, signed links (forged, expired, replaced, for another object), the
// ingress run through upload links, and the sweeps.
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "domain/sha256.hpp"
#include "release/crate.hpp"
#include "world.hpp"

namespace json = boost::json;

namespace trevor {
namespace {

using test::thrown_by;

json::value J(const std::string& s) {
  return json::value(s);
}

const std::string secret(40, 'k');

/// A world whose workflow knows its link secret and assembles packages in a
/// directory the test can look into.
struct release_world {
  explicit release_world(workflow_options o = {})
      : w([&] {
          o.link_secret = secret;
          o.public_url = "https://airlock.example.org";
          o.scratch_dir = scratch.path();
          return o;
        }()) {}
  test::temp_dir scratch;
  test::world w;
};

struct upload_spec {
  std::string filename;
  std::string content;
  std::string justification;
  std::string suppression;
};

/// An egress request by r1 with the files, approved by c1 and c2.
airlock_request approved_egress(test::world& w, const std::vector<upload_spec>& files) {
  auto r = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "Mortality tables",
                                         "Age-standardised rates, 2015-2020"});
  for (const auto& f : files) {
    new_object o;
    o.filename = f.filename;
    o.output_type = output_type::tabular;
    o.statbarn = "frequency_table";
    o.metadata.researcher_justification = f.justification;
    o.metadata.suppression_notes = f.suppression;
    w.flow.objects.add(w.r1, r.id, o, test::bytes_of(f.content, 1000));
  }
  w.flow.requests.submit(w.r1, r.id);
  w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved, "cells >= 10"));
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved, "fine"));
  const auto now = w.flow.requests.get(w.admin, r.id);
  REQUIRE(now.status == request_status::approved);
  return now;
}

std::string token_of(const std::string& url) {
  const auto at = url.find("token=");
  REQUIRE(at != std::string::npos);
  return url.substr(at + 6);
}

std::string file_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Every entry of a zip file, by name, read with libzip (an independent
/// reader of the package), and whether each was stored uncompressed.
struct unzipped {
  std::map<std::string, std::string> entries;
  std::set<std::string> stored;
};
unzipped read_zip(const std::filesystem::path& p) {
  int code = 0;
  zip_t* za = zip_open(p.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  REQUIRE_MESSAGE(za != nullptr, "zip_open error ", code);
  unzipped out;
  const auto n = zip_get_num_entries(za, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    REQUIRE(zip_stat_index(za, static_cast<zip_uint64_t>(i), 0, &st) == 0);
    zip_file_t* f = zip_fopen_index(za, static_cast<zip_uint64_t>(i), 0);
    REQUIRE(f != nullptr);
    std::string data(static_cast<std::size_t>(st.size), '\0');
    REQUIRE(zip_fread(f, data.data(), st.size) == static_cast<zip_int64_t>(st.size));
    zip_fclose(f);
    if (st.comp_method == ZIP_CM_STORE) out.stored.insert(st.name);
    out.entries[st.name] = std::move(data);
  }
  zip_close(za);
  return out;
}

std::string read_all(test::world& w, const blob_download& d) {
  std::string out;
  w.flow.releases.read_blob(d, [&](std::string_view chunk) { out.append(chunk); });
  return out;
}

std::vector<std::string> types_of(test::world& w, const uuid& request_id) {
  std::vector<std::string> out;
  for (const auto& e : w.trail(request_id)) out.push_back(e.event_type);
  return out;
}

bool has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

/// Structural JSON-LD checks an RO-Crate consumer relies on: a context of the
/// RO-Crate 1.1 context plus term definitions, a flat @graph of objects with
/// unique @id and an @type, every reference resolvable (or an absolute IRI),
/// and every property a term the context defines.
std::map<std::string, json::object> check_json_ld(const json::value& doc) {
  static const std::set<std::string> rocrate_terms{
      "conformsTo",  "about",          "identifier", "name",        "description", "datePublished",
      "author",      "hasPart",        "mentions",   "contentSize", "version",     "alternateName",
      "affiliation", "agent",          "object",     "instrument",  "endTime",     "actionStatus",
      "license",     "encodingFormat", "comment",    "text",        "dateCreated"};
  const auto& top = doc.as_object();
  REQUIRE(top.size() == 2);
  const auto& ctx = top.at("@context").as_array();
  REQUIRE(ctx.size() == 2);
  CHECK(ctx[0].as_string() == "https://w3id.org/ro/crate/1.1/context");
  const auto& local = ctx[1].as_object();
  for (const auto& [term, iri] : local) {
    const std::string s(iri.as_string());
    CHECK_MESSAGE((s.starts_with("http") || s.starts_with("trevor:")), term);
  }
  std::map<std::string, json::object> by_id;
  std::vector<std::string> refs;
  std::function<void(const json::value&)> collect = [&](const json::value& v) {
    if (v.is_object()) {
      const auto& o = v.as_object();
      if (o.size() == 1 && o.contains("@id")) refs.emplace_back(o.at("@id").as_string());
    } else if (v.is_array()) {
      for (const auto& x : v.as_array()) collect(x);
    }
  };
  for (const auto& e : top.at("@graph").as_array()) {
    const auto& o = e.as_object();
    const std::string id(o.at("@id").as_string());
    CHECK_MESSAGE(o.contains("@type"), id);
    CHECK_MESSAGE(by_id.emplace(id, o).second, "duplicate @id ", id);
    for (const auto& [k, v] : o) {
      const std::string key(k);
      if (key == "@id" || key == "@type") continue;
      CHECK_MESSAGE((rocrate_terms.contains(key) || local.contains(key)), "undefined term ", key);
      if (key != "findings") collect(v);
    }
  }
  for (const auto& r : refs)
    CHECK_MESSAGE((by_id.contains(r) || r.starts_with("http")), "dangling reference ", r);
  return by_id;
}

}  // namespace

TEST_CASE("release: an approved egress request becomes a verifiable RO-Crate package") {
  release_world rw;
  auto& w = rw.w;
  const std::vector<upload_spec> files{
      {"rates.csv", "age,rate\n40,1.5\n", "Table 2 of the paper", "cells < 10 suppressed"},
      {"figure 1.png", std::string(70'000, 'x') + "png", "Figure 1", ""},
      {"rates.csv", "age,rate\n50,2.5\n", "Table 3 (same name, other file)", "none"}};
  const auto r = approved_egress(w, files);
  const auto objects = w.flow.objects.list(w.admin, r.id);

  const auto rec = w.flow.releases.release(w.admin, r.id);
  CHECK(w.flow.requests.get(w.admin, r.id).status == request_status::released);
  CHECK(rec.request_id == r.id);
  CHECK(rec.released_by == w.admin.user_id);
  CHECK(rec.crate_storage_key == release_storage_key(w.proj.id, r.id, rec.id));
  CHECK(rec.download_url.starts_with("https://airlock.example.org/requests/" + r.id.str() +
                                     "/release/download?token=v1.release_download."));
  // The link's token, ready for release_download(); every read of the record has it.
  CHECK(rec.link_token.starts_with("v1.release_download."));
  CHECK(rec.download_url.ends_with("?token=" + rec.link_token));
  // The link lasts 7 days by default (database time).
  CHECK(rec.url_expires_at.micros() - rec.created_at.micros() ==
        doctest::Approx(7.0 * 24 * 3600 * 1e6).epsilon(1e-6));

  // The package in the release area, with its own checksum.
  const auto zip_path = std::filesystem::path(w.blobs.root()) / rec.crate_storage_key;
  const auto zip_bytes = file_text(zip_path);
  CHECK(detail::sha256_hex(zip_bytes) == rec.crate_checksum_sha256);
  const auto z = read_zip(zip_path);
  // Metadata, the SDC policy and three files.
  REQUIRE(z.entries.size() == 5);
  CHECK(z.stored.size() == 5);
  CHECK(z.entries.contains("sdc-policy.json"));
  CHECK(z.entries.at("data/rates.csv") == files[0].content);
  CHECK(z.entries.at("data/figure 1.png") == files[1].content);
  CHECK(z.entries.at("data/" + objects[2].id.str() + "/rates.csv") == files[2].content);
  CHECK(test::files_under(rw.scratch.path()) == 0);  // the assembly file is gone

  // The metadata: JSON-LD with the expected entities.
  const auto doc = json::parse(z.entries.at("ro-crate-metadata.json"));
  auto by_id = check_json_ld(doc);
  const auto& descriptor = by_id.at("ro-crate-metadata.json");
  CHECK(descriptor.at("conformsTo").as_object().at("@id") == "https://w3id.org/ro/crate/1.1");
  CHECK(descriptor.at("about").as_object().at("@id") == "./");
  const auto& root = by_id.at("./");
  CHECK(root.at("@type") == "Dataset");
  CHECK(root.at("identifier") == J(r.id.str()));
  CHECK(root.at("name") == "Mortality tables");
  CHECK(root.at("description") == "Age-standardised rates, 2015-2020");
  CHECK(root.at("author").as_object().at("@id") == J("#user-" + w.r1.user_id.str()));
  const auto& parts = root.at("hasPart").as_array();
  REQUIRE(parts.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string id(parts[i].as_object().at("@id").as_string());
    const auto& file = by_id.at(id);
    const auto& o = objects[i];
    CHECK(file.at("@type") == "File");
    CHECK(file.at("identifier") == J(o.id.str()));
    CHECK(file.at("sha256") == J(o.checksum_sha256));
    CHECK(file.at("contentSize") == J(std::to_string(o.size_bytes)));
    CHECK(file.at("statbarn") == "frequency_table");
    CHECK(file.at("researcherJustification") == J(files[i].justification));
    CHECK(file.at("suppressionNotes") == J(files[i].suppression));
    // The @id names the zip entry; its bytes hash to the declared sha256.
    std::string path = id;
    for (std::size_t p; (p = path.find("%20")) != std::string::npos;) path.replace(p, 3, " ");
    CHECK(detail::sha256_hex(z.entries.at(path)) == o.checksum_sha256);
  }
  CHECK(std::string(parts[1].as_object().at("@id").as_string()) == "data/figure%201.png");
  const auto& researcher = by_id.at("#user-" + w.r1.user_id.str());
  CHECK(researcher.at("@type") == "Person");
  CHECK(researcher.at("name") == "rita Tester");
  // The deciding round's reviews as actions, and the policy applied.
  const auto& mentions = root.at("mentions").as_array();
  REQUIRE(mentions.size() == 2);
  std::set<std::string> agents;
  for (const auto& m : mentions) {
    const auto& action = by_id.at(std::string(m.as_object().at("@id").as_string()));
    CHECK(action.at("@type") == "AssessAction");
    CHECK(action.at("decision") == "approved");
    CHECK(action.at("acceptedAgentFindings") == false);
    CHECK(action.at("object").as_object().at("@id") == "./");
    agents.insert(std::string(action.at("agent").as_object().at("@id").as_string()));
  }
  CHECK(agents ==
        std::set<std::string>{"#user-" + w.c1.user_id.str(), "#user-" + w.c2.user_id.str()});
  const auto& policy = by_id.at("#review-policy");
  CHECK(policy.at("requiredReviewers") == 2);
  CHECK(policy.at("reviewedBy").as_array().size() == 2);
  CHECK(by_id.at("#user-" + w.c1.user_id.str()).at("@type") == "Person");

  // Audited, the owner told, the record readable by members only.
  const auto types = types_of(w, r.id);
  CHECK(has(types, "request.releasing"));
  CHECK(has(types, "request.released"));
  for (const auto& e : w.trail(r.id))
    if (e.event_type == "request.released") {
      const auto p = test::payload_of(e);
      CHECK(p.at("crate_checksum_sha256") == J(rec.crate_checksum_sha256));
      CHECK(p.at("objects").as_array().size() == 3);
    }
  const auto notes = w.box.list(w.r1, 100).items;
  CHECK(std::any_of(notes.begin(), notes.end(), [&](const notification& n) {
    return n.event_type == "request.released" && n.request_id == r.id;
  }));
  CHECK(w.flow.releases.get(w.r1, r.id).crate_checksum_sha256 == rec.crate_checksum_sha256);
  CHECK(w.flow.releases.get(w.r1, r.id).link_token == rec.link_token);
  CHECK(thrown_by([&] { w.flow.releases.get(w.outsider, r.id); }).code() == errc::not_found);

  // The link downloads the package, and each download is audited.
  const auto d = w.flow.releases.download(r.id, rec.link_token, {"10.0.0.7", "curl/8"});
  CHECK(d.content_type == "application/zip");
  CHECK(d.size_bytes == static_cast<std::int64_t>(zip_bytes.size()));
  CHECK(read_all(w, d) == zip_bytes);
  const auto trail = w.trail(r.id);
  const auto& last = trail.back();
  CHECK(last.event_type == "release.downloaded");
  CHECK(last.actor == link_actor);
  CHECK(test::payload_of(last).at("client_address") == "10.0.0.7");

  // Releasing again: an invalid transition (409), nothing written.
  const auto events = w.rows("audit_events");
  CHECK(thrown_by([&] { w.flow.releases.release(w.admin, r.id); }).code() ==
        errc::invalid_transition);
  CHECK(w.rows("audit_events") == events);
  CHECK(w.rows("release_records") == 1);
}

TEST_CASE("release: the package states its licence, each file's media type and its feedback") {
  release_world rw;
  auto& w = rw.w;
  auto r = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "Feedback", ""});
  const auto table = w.upload(w.r1, r.id, "table.csv", "a,b\n1,2\n");
  const auto odd = w.upload(w.r1, r.id, "model.rds", "binary");
  w.flow.requests.submit(w.r1, r.id);
  // Round 1 goes back for changes; its feedback is not the deciding round's.
  auto first = test::decide(review_decision::changes_requested, "round 1");
  first.object_decisions = {{table.id, review_decision::approved, "round 1: looks fine"}};
  w.flow.reviews.record(w.c1, r.id, first);
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved, "ok"));
  REQUIRE(w.flow.requests.get(w.r1, r.id).status == request_status::changes_requested);
  w.flow.requests.resubmit(w.r1, r.id);
  // Round 2 approves, with feedback on each object.
  auto second = test::decide(review_decision::approved, "round 2");
  second.object_decisions = {{table.id, review_decision::approved, "round 2: cells >= 10"}};
  w.flow.reviews.record(w.c1, r.id, second);
  auto third = test::decide(review_decision::approved, "round 2 too");
  third.object_decisions = {{odd.id, review_decision::approved, "a fitted model, no records"}};
  w.flow.reviews.record(w.c2, r.id, third);
  REQUIRE(w.flow.requests.get(w.r1, r.id).status == request_status::approved);

  const auto rec = w.flow.releases.release(w.admin, r.id);
  const auto z = read_zip(std::filesystem::path(w.blobs.root()) / rec.crate_storage_key);
  auto by_id = check_json_ld(json::parse(z.entries.at("ro-crate-metadata.json")));

  // Not licensed for reuse unless configured otherwise.
  const auto& root = by_id.at("./");
  REQUIRE(root.contains("license"));
  const std::string licence(root.at("license").as_object().at("@id").as_string());
  const auto& terms = by_id.at(licence);
  CHECK(terms.at("@type") == "CreativeWork");
  CHECK(terms.at("name") == "Not licensed for reuse");
  CHECK(std::string(terms.at("description").as_string()).find("not licensed for reuse") !=
        std::string::npos);

  // Media types from the file name; unknown extensions are octet streams.
  const auto& csv = by_id.at("data/table.csv");
  CHECK(csv.at("encodingFormat") == "text/csv");
  CHECK(by_id.at("data/model.rds").at("encodingFormat") == "application/octet-stream");

  // Each file's feedback of the deciding round, as comments by their reviewers.
  auto comments_of = [&](const json::object& file) {
    std::vector<json::object> out;
    if (!file.contains("comment")) return out;
    for (const auto& ref : file.at("comment").as_array())
      out.push_back(by_id.at(std::string(ref.as_object().at("@id").as_string())));
    return out;
  };
  const auto on_table = comments_of(csv);
  REQUIRE(on_table.size() == 1);
  CHECK(on_table[0].at("@type") == "Comment");
  CHECK(on_table[0].at("text") == "round 2: cells >= 10");
  CHECK(on_table[0].at("author").as_object().at("@id") == J("#user-" + w.c1.user_id.str()));
  CHECK(on_table[0].at("decision") == "approved");
  CHECK(on_table[0].at("reviewRound") == 2);
  const auto on_odd = comments_of(by_id.at("data/model.rds"));
  REQUIRE(on_odd.size() == 1);
  CHECK(on_odd[0].at("text") == "a fitted model, no records");
  CHECK(on_odd[0].at("author").as_object().at("@id") == J("#user-" + w.c2.user_id.str()));
  CHECK(z.entries.at("ro-crate-metadata.json").find("round 1: looks fine") == std::string::npos);
}

TEST_CASE("release package: a configured licence, as a URL or as text; media types by extension") {
  detail::crate_content k;
  k.request.id = uuid::v7();
  k.request.title = "T";
  k.researcher.id = uuid::v7();
  k.researcher.username = "rita";
  auto licence_of = [&](const std::string& configured) {
    k.license = configured;
    auto by_id = check_json_ld(json::parse(detail::crate_metadata(k)));
    const std::string id(by_id.at("./").at("license").as_object().at("@id").as_string());
    return by_id.at(id);
  };
  const auto cc = licence_of("https://creativecommons.org/licenses/by/4.0/");
  CHECK(cc.at("@id") == "https://creativecommons.org/licenses/by/4.0/");
  CHECK(cc.at("@type") == "CreativeWork");
  const auto text = licence_of("Open Government Licence v3.0, with the TRE's attribution text");
  CHECK(text.at("@id") == "#license");
  CHECK(text.at("description") == "Open Government Licence v3.0, with the TRE's attribution text");
  CHECK(licence_of("https://example.org/a licence with blanks").at("@id") == "#license");
  CHECK(licence_of("").at("name") == "Not licensed for reuse");

  using detail::media_type_of;
  CHECK(media_type_of("table.csv") == "text/csv");
  CHECK(media_type_of("TABLE.CSV") == "text/csv");
  CHECK(media_type_of("counts.tsv") == "text/tab-separated-values");
  CHECK(media_type_of("notes.txt") == "text/plain");
  CHECK(media_type_of("fig.svg") == "image/svg+xml");
  CHECK(media_type_of("photo.JPEG") == "image/jpeg");
  CHECK(media_type_of("paper.pdf") == "application/pdf");
  CHECK(media_type_of("book.xlsx") ==
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  CHECK(media_type_of("archive.tar.gz") == "application/gzip");
  CHECK(media_type_of("model.rds") == "application/octet-stream");
  CHECK(media_type_of("README") == "application/octet-stream");
  CHECK(media_type_of(".csv") == "application/octet-stream");
  CHECK(media_type_of("trailing.") == "application/octet-stream");
}

TEST_CASE("release: a file changed in the blob store after approval is caught; nothing released") {
  release_world rw;
  auto& w = rw.w;
  const auto r =
      approved_egress(w, {{"a.csv", "x,y\n1,2\n", "", ""}, {"b.csv", "x,y\n3,4\n", "", ""}});
  const auto objects = w.flow.objects.list(w.admin, r.id);
  const auto path = std::filesystem::path(w.blobs.root()) / objects[1].storage_key;
  const auto original = file_text(path);
  {
    // Same size, one byte different.
    std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "x,y\n3,5\n";
  }
  const auto blobs_before = w.blob_files();
  auto e = thrown_by([&] { w.flow.releases.release(w.admin, r.id); });
  CHECK(e.code() == errc::conflict);
  CHECK(std::string(e.what()).find(objects[1].id.str()) != std::string::npos);
  CHECK(std::string(e.what()).find("SHA-256") != std::string::npos);
  CHECK(w.flow.requests.get(w.admin, r.id).status == request_status::approved);
  CHECK(w.rows("release_records") == 0);
  CHECK(w.blob_files() == blobs_before);  // no package left in the release area
  CHECK(test::files_under(rw.scratch.path()) == 0);
  auto trail = w.trail(r.id);
  REQUIRE(trail.size() >= 2);
  CHECK(trail[trail.size() - 2].event_type == "request.releasing");
  CHECK(trail.back().event_type == "request.release_failed");
  const auto p = test::payload_of(trail.back());
  CHECK(p.at("reason") == "verification_failed");
  CHECK(p.at("from") == "RELEASING");
  CHECK(p.at("to") == "APPROVED");
  CHECK(std::string(p.at("detail").as_string()).find(objects[1].id.str()) != std::string::npos);

  // A longer file is refused as well (size), and a missing one is a storage
  // failure (500), not a refusal.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << original << "extra";
  }
  e = thrown_by([&] { w.flow.releases.release(w.admin, r.id); });
  CHECK(e.code() == errc::conflict);
  CHECK(std::string(e.what()).find("recorded") != std::string::npos);
  std::filesystem::remove(path);
  e = thrown_by([&] { w.flow.releases.release(w.admin, r.id); });
  CHECK(e.code() == errc::internal);
  CHECK(test::payload_of(w.trail(r.id).back()).at("reason") == "storage_failed");
  CHECK(w.flow.requests.get(w.admin, r.id).status == request_status::approved);

  // Put the reviewed bytes back: the release goes through.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << original;
  }
  CHECK(w.flow.releases.release(w.admin, r.id).crate_checksum_sha256.size() == 64);
  CHECK(w.flow.requests.get(w.admin, r.id).status == request_status::released);
}

TEST_CASE("release: only tre_admin, only APPROVED egress requests") {
  release_world rw;
  auto& w = rw.w;
  const auto draft = w.draft(1);
  CHECK(thrown_by([&] { w.flow.releases.release(w.admin, draft.id); }).code() ==
        errc::invalid_transition);
  const auto r = approved_egress(w, {{"a.csv", "1\n", "", ""}});
  CHECK(thrown_by([&] { w.flow.releases.release(w.r1, r.id); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.releases.release(w.s1, r.id); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.releases.release(w.outsider, r.id); }).code() == errc::not_found);
  CHECK(thrown_by([&] { w.flow.releases.deliver(w.admin, r.id); }).code() ==
        errc::invalid_transition);
  CHECK(thrown_by([&] { w.flow.releases.get(w.admin, r.id); }).code() == errc::not_found);
  CHECK(w.flow.requests.get(w.admin, r.id).status == request_status::approved);
  CHECK(w.rows("release_records") == 0);
}

TEST_CASE("release links: forged, expired, for another resource or replaced are refused") {
  release_world rw;
  auto& w = rw.w;
  const auto a = approved_egress(w, {{"a.csv", "1\n", "", ""}});
  const auto b = approved_egress(w, {{"b.csv", "2\n", "", ""}});
  const auto ra = w.flow.releases.release(w.admin, a.id);
  const auto rb = w.flow.releases.release(w.admin, b.id);
  const auto token = token_of(ra.download_url);
  const link_client client{"10.1.1.1", "test"};
  const auto events_before = w.rows("audit_events");
  auto refused = [&](const uuid& request, const std::string& t, std::string_view why) {
    const auto e = thrown_by([&] { w.flow.releases.download(request, t, client); });
    CHECK(e.code() == errc::forbidden);
    CHECK_MESSAGE(std::string(e.what()).find(why) != std::string::npos, e.what());
  };
  std::string forged = token;
  forged[forged.size() - 70] = forged[forged.size() - 70] == 'a' ? 'b' : 'a';
  refused(a.id, forged, "signature");
  refused(b.id, token, "another resource");  // a's link used for b
  const link_signer signer(secret);
  const auto now = w.flow.requests.get(w.admin, a.id).updated_at;
  refused(a.id, signer.issue({link_purpose::release_download, ra.id, timestamp(now.micros() - 1)}),
          "expired");
  refused(a.id, signer.issue({link_purpose::object_download, ra.id, ra.url_expires_at}),
          "made for object_download");
  const link_signer other(std::string(40, 'z'));
  refused(a.id, other.issue({link_purpose::release_download, ra.id, ra.url_expires_at}),
          "signature");
  CHECK(w.rows("audit_events") == events_before);  // refusals write nothing

  // A fresh link (tre_admin only): the old one stops working.
  CHECK(thrown_by([&] { w.flow.releases.renew_link(w.r1, a.id); }).code() == errc::forbidden);
  const auto renewed = w.flow.releases.renew_link(w.admin, a.id);
  CHECK(renewed.download_url != ra.download_url);
  CHECK(renewed.crate_checksum_sha256 == ra.crate_checksum_sha256);
  CHECK(renewed.url_expires_at >= ra.url_expires_at);
  const auto events_renewed = w.rows("audit_events");
  refused(a.id, token, "replaced by a newer link");
  CHECK(w.rows("audit_events") == events_renewed);
  CHECK(w.flow.releases.download(a.id, token_of(renewed.download_url), client).size_bytes > 0);
  CHECK(w.trail(a.id).back().event_type == "release.downloaded");
  const auto types = types_of(w, a.id);
  CHECK(has(types, "release.link_issued"));
  CHECK(rb.id != ra.id);
}

TEST_CASE("ingress: slots filled through upload links, reviewed, delivered with download links") {
  release_world rw;
  auto& w = rw.w;
  auto r = w.flow.requests.create(w.s1, {w.proj.id, direction::ingress, "Reference data", ""});
  new_object in;
  in.filename = "lookup.csv";
  in.output_type = output_type::tabular;
  const auto slot1 = w.flow.objects.add_slot(w.s1, r.id, in);
  in.filename = "codes.txt";
  const auto slot2 = w.flow.objects.add_slot(w.s1, r.id, in);
  CHECK(thrown_by([&] { w.flow.requests.submit(w.s1, r.id); }).code() == errc::invalid_argument);

  // Upload links: contributors only; each is bound to its slot.
  CHECK(thrown_by([&] { w.flow.objects.issue_upload_link(w.c1, r.id, slot1.id); }).code() ==
        errc::forbidden);
  const auto l1 = w.flow.objects.issue_upload_link(w.s1, r.id, slot1.id);
  const auto l2 = w.flow.objects.issue_upload_link(w.admin, r.id, slot2.id);
  CHECK(l1.upload_url.starts_with("https://airlock.example.org/requests/" + r.id.str() +
                                  "/objects/" + slot1.id.str() + "/upload?token="));
  const link_client client{"192.0.2.1", "uploader"};
  auto e = thrown_by([&] {
    w.flow.objects.upload_through_link(r.id, slot2.id, token_of(l1.upload_url), client,
                                       test::bytes_of("wrong slot"));
  });
  CHECK(e.code() == errc::forbidden);
  const auto f1 = w.flow.objects.upload_through_link(r.id, slot1.id, token_of(l1.upload_url),
                                                     client, test::bytes_of("code,label\n1,a\n"));
  CHECK(f1.checksum_sha256 == detail::sha256_hex("code,label\n1,a\n"));
  CHECK(f1.size_bytes == 15);
  // The link fills its slot once.
  e = thrown_by([&] {
    w.flow.objects.upload_through_link(r.id, slot1.id, token_of(l1.upload_url), client,
                                       test::bytes_of("again"));
  });
  CHECK(e.code() == errc::conflict);
  CHECK(thrown_by([&] { w.flow.objects.issue_upload_link(w.s1, r.id, slot1.id); }).code() ==
        errc::conflict);
  w.flow.objects.upload_through_link(r.id, slot2.id, token_of(l2.upload_url), client,
                                     test::bytes_of("A01 cholera\n"));
  const auto confirmed = w.trail(r.id);
  CHECK(std::count_if(confirmed.begin(), confirmed.end(), [](const audit_event& ev) {
          return ev.event_type == "object.upload_confirmed" && ev.actor == link_actor;
        }) == 2);

  // The same two-person review, then delivery.
  w.flow.requests.submit(w.s1, r.id);
  w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  CHECK(thrown_by([&] { w.flow.releases.deliver(w.s1, r.id); }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.releases.release(w.admin, r.id); }).code() ==
        errc::invalid_transition);
  const auto d = w.flow.releases.deliver(w.admin, r.id);
  CHECK(w.flow.requests.get(w.admin, r.id).status == request_status::released);
  CHECK(d.record.object_count == 2);
  CHECK(d.record.delivered_by == w.admin.user_id);
  CHECK(d.record.url_expires_at.micros() - d.record.created_at.micros() ==
        doctest::Approx(24.0 * 3600 * 1e6).epsilon(1e-6));
  REQUIRE(d.objects.size() == 2);
  CHECK(d.objects[0].object_id == slot1.id);
  CHECK(d.objects[0].checksum_sha256 == f1.checksum_sha256);
  const auto got = w.flow.releases.delivered_download(r.id, slot1.id,
                                                      token_of(d.objects[0].download_url), client);
  CHECK(read_all(w, got) == "code,label\n1,a\n");
  CHECK(w.trail(r.id).back().event_type == "delivery.downloaded");
  // A link for one object does not open another.
  e = thrown_by([&] {
    w.flow.releases.delivered_download(r.id, slot2.id, token_of(d.objects[0].download_url), client);
  });
  CHECK(e.code() == errc::forbidden);
  const link_signer signer(secret);
  e = thrown_by([&] {
    w.flow.releases.delivered_download(
        r.id, slot2.id,
        signer.issue({link_purpose::object_download, slot2.id, timestamp(d.record.created_at)}),
        client);
  });
  CHECK(e.code() == errc::forbidden);
  CHECK(std::string(e.what()).find("expired") != std::string::npos);
  // get_delivery gives working links with the record's expiry.
  const auto again = w.flow.releases.get_delivery(w.s1, r.id);
  CHECK(again.record.id == d.record.id);
  CHECK(read_all(w, w.flow.releases.delivered_download(
                        r.id, slot2.id, token_of(again.objects[1].download_url), client)) ==
        "A01 cholera\n");
  CHECK(thrown_by([&] { w.flow.releases.deliver(w.admin, r.id); }).code() ==
        errc::invalid_transition);
  CHECK(w.rows("delivery_records") == 1);
  const auto notes = w.box.list(w.s1, 100).items;
  CHECK(std::any_of(notes.begin(), notes.end(),
                    [](const notification& n) { return n.event_type == "request.delivered"; }));
}

TEST_CASE("ingress: a delivery is announced to the project's researchers and its creator") {
  release_world rw;
  auto& w = rw.w;
  // A researcher of another project, who must hear nothing.
  const project_spec specs[] = {{w.proj.id, w.proj.name, w.proj.display_name},
                                {uuid::v7(), "proj-beta", "Beta"}};
  w.dir.reconcile_projects(w.admin, specs);
  w.dir.add_membership(w.admin, w.outsider.user_id, specs[1].id, membership_role::researcher);
  auto r = w.flow.requests.create(w.admin, {w.proj.id, direction::ingress, "Lookup", ""});
  new_object in;
  in.filename = "codes.csv";
  const auto slot = w.flow.objects.add_slot(w.admin, r.id, in);
  w.flow.objects.confirm_upload(w.admin, r.id, slot.id, test::bytes_of("1,a\n"));
  w.flow.requests.submit(w.admin, r.id);
  w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  w.flow.releases.deliver(w.admin, r.id);

  auto delivered_to = [&](const actor& who) { return w.notified(who, "request.delivered", r.id); };
  CHECK(delivered_to(w.r1) == 1);
  CHECK(delivered_to(w.r2) == 1);
  CHECK(delivered_to(w.admin) == 1);
  CHECK(delivered_to(w.outsider) == 0);
  CHECK(delivered_to(w.c1) == 0);
  CHECK(w.fdb.count("SELECT count(*) FROM notifications WHERE event_type = 'request.delivered'") ==
        3);
}

TEST_CASE("ingress: a delivered object changed in the blob store stops the delivery") {
  release_world rw;
  auto& w = rw.w;
  auto r = w.flow.requests.create(w.admin, {w.proj.id, direction::ingress, "Lookup", ""});
  new_object in;
  in.filename = "l.csv";
  const auto slot = w.flow.objects.add_slot(w.admin, r.id, in);
  w.flow.objects.confirm_upload(w.admin, r.id, slot.id, test::bytes_of("1,2\n"));
  w.flow.requests.submit(w.admin, r.id);
  w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  const auto path = std::filesystem::path(w.blobs.root()) / slot.storage_key;
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "1,3\n";
  CHECK(thrown_by([&] { w.flow.releases.deliver(w.admin, r.id); }).code() == errc::conflict);
  CHECK(w.flow.requests.get(w.admin, r.id).status == request_status::approved);
  CHECK(w.rows("delivery_records") == 0);
}

TEST_CASE("sweeps: the expiry warning goes out once per link; interrupted releases return") {
  workflow_options o;
  o.link_warning = std::chrono::hours(24 * 8);  // longer than the 7-day link: due at once
  release_world rw(o);
  auto& w = rw.w;
  const auto r = approved_egress(w, {{"a.csv", "1\n", "", ""}});
  CHECK(w.flow.sweeps.expiring_links().empty());  // nothing released yet
  const auto rec = w.flow.releases.release(w.admin, r.id);
  const auto warned = w.flow.sweeps.expiring_links();
  REQUIRE(warned.size() == 1);
  CHECK(warned[0].id == rec.id);
  CHECK(warned[0].expiry_warned_at.has_value());
  CHECK(w.flow.sweeps.expiring_links().empty());
  CHECK(w.flow.sweeps.expiring_links().empty());
  auto count_warnings = [&] {
    return w.fdb.count(
        "SELECT count(*) FROM notifications WHERE event_type = 'presigned_url.expiring_soon'");
  };
  CHECK(count_warnings() == 1);
  CHECK(w.fdb.count("SELECT count(*) FROM audit_events WHERE event_type = "
                    "'presigned_url.expiring_soon'") == 1);
  // A fresh link is warned about again, once.
  const auto renewed = w.flow.releases.renew_link(w.admin, r.id);
  CHECK(renewed.link_token != rec.link_token);
  CHECK(renewed.download_url.ends_with("?token=" + renewed.link_token));
  CHECK(w.flow.sweeps.expiring_links().size() == 1);
  CHECK(w.flow.sweeps.expiring_links().empty());
  CHECK(count_warnings() == 2);

  // A release whose daemon stopped mid-way: RELEASING, then back to APPROVED
  // once the timeout has passed (database time).
  const auto stuck = approved_egress(w, {{"b.csv", "2\n", "", ""}});
  w.fdb.exec(fmt::format("UPDATE airlock_requests SET status = 'RELEASING' WHERE id = '{}'",
                         stuck.id.str()));
  CHECK(w.flow.sweeps.interrupted_releases().empty());  // the default hour has not passed
  // A sweeper with a one-second timeout on the same database: polled until the
  // second has passed, however busy the machine.
  auto short_timeout = w.flow.options();
  short_timeout.release_timeout = std::chrono::seconds(1);
  workflow sweeper(w.fdb.db(), w.blobs, short_timeout);
  std::vector<airlock_request> back;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((back = sweeper.sweeps.interrupted_releases()).empty() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(back.size() == 1);
  CHECK(back[0].id == stuck.id);
  CHECK(back[0].status == request_status::approved);
  CHECK(sweeper.sweeps.interrupted_releases().empty());
  CHECK(w.trail(stuck.id).back().event_type == "request.release_failed");
  CHECK(test::payload_of(w.trail(stuck.id).back()).at("reason") == "interrupted");
  CHECK(w.flow.releases.release(w.admin, stuck.id).request_id == stuck.id);
}

TEST_CASE("release: with a signing audit trail the package proves the request's whole history") {
  release_world rw;
  auto& w = rw.w;
  const auto keys = generate_audit_key("trevor.test/audit");
  audit_trail trail(w.fdb.db(), {.origin = "trevor.test/audit", .signer_key = keys.signer_key});
  workflow_options o;
  o.link_secret = secret;
  o.public_url = "https://airlock.example.org";
  o.scratch_dir = rw.scratch.path();
  o.audit = &trail;
  workflow flow(w.fdb.db(), w.blobs, o);

  auto r = flow.requests.create(w.r1, {w.proj.id, direction::egress, "Proved", ""});
  w.upload(w.r1, r.id, "table.csv", "a,b\n1,2\n");
  flow.requests.submit(w.r1, r.id);
  flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  const auto rec = flow.releases.release(w.admin, r.id);

  const auto z = read_zip(std::filesystem::path(w.blobs.root()) / rec.crate_storage_key);
  REQUIRE(z.entries.contains("audit-proof.json"));
  const std::string& proof = z.entries.at("audit-proof.json");
  // Every event up to request.releasing; request.released came after the package.
  const auto events = w.trail(r.id);
  std::size_t before_release = 0;
  for (const auto& e : events) {
    if (e.event_type == "request.released") break;
    ++before_release;
  }
  CHECK(verify_request_audit_proof(proof, keys.verifier_key) == before_release);
  CHECK(proof.find("request.releasing") != std::string::npos);
  CHECK(proof.find("review.created") != std::string::npos);
  // The crate names it.
  auto by_id = check_json_ld(json::parse(z.entries.at("ro-crate-metadata.json")));
  REQUIRE(by_id.contains("audit-proof.json"));
  CHECK(by_id.at("./").at("auditProof").as_object().at("@id") == "audit-proof.json");
  // Another key does not verify it.
  CHECK_THROWS_AS(
      verify_request_audit_proof(proof, generate_audit_key("trevor.test/audit").verifier_key),
      error);

  // Without a trail, no proof in the package (the other tests' packages).
  auto plain = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "Plain", ""});
  w.upload(w.r1, plain.id, "t.csv", "a\n1\n");
  w.flow.requests.submit(w.r1, plain.id);
  w.flow.reviews.record(w.c1, plain.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, plain.id, test::decide(review_decision::approved));
  const auto plain_rec = w.flow.releases.release(w.admin, plain.id);
  CHECK_FALSE(read_zip(std::filesystem::path(w.blobs.root()) / plain_rec.crate_storage_key)
                  .entries.contains("audit-proof.json"));
}

}  // namespace trevor

namespace trevor {

TEST_CASE("supporting objects: reviewed with the request, never in the package, fixed for good") {
  release_world rw;
  auto& w = rw.w;
  auto r = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "With code", ""});
  const auto table = w.upload(w.r1, r.id, "table.csv", "a,b\n1,2\n");
  new_object code;
  code.filename = "analysis.R";
  code.output_type = output_type::code;
  code.supporting = true;
  const auto support = w.flow.objects.add(w.r1, r.id, code, string_reader("lm(y ~ x)\n"));
  CHECK(support.supporting);
  CHECK_FALSE(table.supporting);
  CHECK(w.flow.objects.get(w.c1, r.id, support.id).supporting);
  CHECK(test::payload_of(w.trail(r.id).back()).at("supporting") == true);

  // The flag belongs to the logical object: a replacement keeps it.
  new_object plain = code;
  plain.supporting = false;
  const auto replaced =
      w.flow.objects.replace(w.r1, r.id, support.id, plain, string_reader("lm(y ~ x + z)\n"));
  CHECK(replaced.supporting);
  // And the database refuses to change it.
  const auto e = w.fdb.exec_fails(
      fmt::format("UPDATE output_objects SET supporting = {} WHERE id = '{}'",
                  w.fdb.db().kind() == engine::postgresql ? "false" : "0", replaced.id.str()));
  CHECK(std::string(e.what()).find("immutable") != std::string::npos);

  w.flow.requests.submit(w.r1, r.id);
  w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  REQUIRE(w.flow.objects.get(w.c1, r.id, replaced.id).state == object_state::approved);
  const auto rec = w.flow.releases.release(w.admin, r.id);
  const auto z = read_zip(std::filesystem::path(w.blobs.root()) / rec.crate_storage_key);
  CHECK(z.entries.contains("data/table.csv"));
  for (const auto& [name, content] : z.entries) {
    CAPTURE(name);
    CHECK(name.find("analysis.R") == std::string::npos);
  }
  CHECK(z.entries.at("ro-crate-metadata.json").find("analysis.R") == std::string::npos);
}

TEST_CASE("a request whose only approved objects are supporting has nothing to release") {
  release_world rw;
  auto& w = rw.w;
  auto r = w.flow.requests.create(w.r1, {w.proj.id, direction::egress, "Only logs", ""});
  new_object log;
  log.filename = "run.log";
  log.output_type = output_type::other;
  log.supporting = true;
  w.flow.objects.add(w.r1, r.id, log, string_reader("ok\n"));
  w.flow.requests.submit(w.r1, r.id);
  w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  const auto e = test::thrown_by([&] { w.flow.releases.release(w.admin, r.id); });
  CHECK(e.code() == errc::invalid_transition);
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::approved);
}

}  // namespace trevor

namespace trevor {

TEST_CASE("every package carries the project's SDC policy, overrides applied") {
  workflow_options o;
  o.sdc_policy = sdc::policy_config::parse(
      "threshold: 10\nprojects:\n  proj-alpha:\n    threshold: 5\n    zeros_are_disclosive: "
      "false\n");
  release_world rw(o);
  auto& w = rw.w;
  const auto r = w.draft(1);
  w.flow.requests.submit(w.r1, r.id);
  w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  const auto rec = w.flow.releases.release(w.admin, r.id);
  const auto z = read_zip(std::filesystem::path(w.blobs.root()) / rec.crate_storage_key);
  REQUIRE(z.entries.contains("sdc-policy.json"));
  const auto policy = json::parse(z.entries.at("sdc-policy.json")).as_object();
  CHECK(policy.at("threshold") == 5);
  CHECK(policy.at("zeros_are_disclosive") == false);
  const auto effective = o.sdc_policy.effective(w.proj.id.str(), w.proj.name);
  CHECK(policy.at("id").as_string() == sdc::policy_id(effective));
  auto by_id = check_json_ld(json::parse(z.entries.at("ro-crate-metadata.json")));
  REQUIRE(by_id.contains("sdc-policy.json"));
  CHECK(by_id.at("./").at("sdcPolicy").as_object().at("@id") == "sdc-policy.json");
}

}  // namespace trevor

namespace trevor {

TEST_CASE("storage check: orphans and interrupted uploads removed, referenced files never") {
  release_world rw;
  auto& w = rw.w;
  const auto r = w.draft(2);
  const auto objects = w.flow.objects.list(w.c1, r.id);
  const auto root = std::filesystem::path(w.blobs.root());
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  // A blob no row refers to (an upload whose transaction never committed),
  // an interrupted upload's temporary file, both two hours old; and a fresh
  // orphan (its upload may still be committing).
  w.blobs.put("p/r/orphan.bin", string_reader("lost"), 100);
  std::filesystem::last_write_time(root / "p/r/orphan.bin", old);
  { std::ofstream(root / "p/r/.tmp-interrupted") << "half an upload"; }
  std::filesystem::last_write_time(root / "p/r/.tmp-interrupted", old);
  w.blobs.put("p/r/fresh.bin", string_reader("new"), 100);
  // A referenced file, old too.
  std::filesystem::last_write_time(root / objects[0].storage_key, old);

  auto report = w.flow.sweeps.check_storage(/*remove=*/false);
  CHECK(report.orphans == std::vector<std::string>{"p/r/orphan.bin"});
  CHECK(report.temporaries == std::vector<std::string>{"p/r/.tmp-interrupted"});
  CHECK(report.orphan_bytes == 4 + 14);
  CHECK_FALSE(report.removed);
  CHECK(report.ok());
  CHECK(std::filesystem::exists(root / "p/r/orphan.bin"));

  report = w.flow.sweeps.check_storage(/*remove=*/true);
  CHECK(report.removed);
  CHECK_FALSE(std::filesystem::exists(root / "p/r/orphan.bin"));
  CHECK_FALSE(std::filesystem::exists(root / "p/r/.tmp-interrupted"));
  CHECK(std::filesystem::exists(root / "p/r/fresh.bin"));
  for (const auto& o : objects) CHECK(std::filesystem::exists(root / o.storage_key));

  // Rows whose file is gone, or whose bytes changed, are reported.
  std::filesystem::remove(root / objects[0].storage_key);
  {
    std::ofstream f(root / objects[1].storage_key, std::ios::binary | std::ios::trunc);
    f << std::string(static_cast<std::size_t>(objects[1].size_bytes), 'x');
  }
  report = w.flow.sweeps.check_storage(false, /*verify_checksums=*/true);
  CHECK(report.missing_objects == std::vector<uuid>{objects[0].id});
  CHECK(report.corrupted_objects == std::vector<uuid>{objects[1].id});
  CHECK_FALSE(report.ok());
}

}  // namespace trevor

namespace trevor {
namespace {

// The pid of a process that has exited (and was reaped).
int dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

std::string this_host() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

TEST_CASE("a release whose process is gone is returned at once, not after the timeout") {
  release_world rw;
  auto& w = rw.w;
  const auto approved = [&] {
    const auto r = w.draft(1);
    w.flow.requests.submit(w.r1, r.id);
    w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
    w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
    return r;
  };
  // Two releases a killed process left RELEASING: one on this host, one on another.
  const auto here = approved(), elsewhere = approved();
  const auto gone = dead_pid();
  audit_log log(w.fdb.db());
  for (const auto& [r, holder] :
       {std::pair{here, fmt::format("{}:{}", this_host(), gone)},
        std::pair{elsewhere, fmt::format("another-host.example:{}", gone)}}) {
    w.fdb.exec(fmt::format("UPDATE airlock_requests SET status = 'RELEASING' WHERE id = '{}'",
                           r.id.str()));
    log.append({.actor = "admin",
                .event_type = "request.releasing",
                .request_id = r.id,
                .project_id = w.proj.id,
                .payload_json = fmt::format(R"({{"holder": "{}"}})", holder)});
  }
  const auto returned = w.flow.sweeps.interrupted_releases();
  REQUIRE(returned.size() == 1);
  CHECK(returned[0].id == here.id);
  CHECK(w.flow.requests.get(w.r1, here.id).status == request_status::approved);
  CHECK(w.flow.requests.get(w.r1, elsewhere.id).status == request_status::releasing);
  const auto failed = w.trail(here.id).back();
  CHECK(failed.event_type == "request.release_failed");
  CHECK(test::payload_of(failed).at("detail").as_string().find("is gone") != std::string::npos);

  // A release by this process names it as the holder.
  const auto fresh = approved();
  w.flow.releases.release(w.admin, fresh.id);
  for (const auto& e : w.trail(fresh.id))
    if (e.event_type == "request.releasing")
      CHECK(test::payload_of(e).at("holder").as_string() ==
            fmt::format("{}:{}", this_host(), ::getpid()));
}

TEST_CASE("stale release scratch files are removed; a live process's are kept") {
  release_world rw;
  auto& w = rw.w;
  const auto dir = std::filesystem::path(rw.scratch.path());
  const auto gone = dead_pid();
  const auto dead_zip = dir / fmt::format("trevor-release-{}-{}.zip", uuid::v7().str(), gone);
  const auto dead_tmp =
      dir / fmt::format("trevor-release-{}-{}.zip.Xa81Qz", uuid::v7().str(), gone);
  const auto mine = dir / fmt::format("trevor-release-{}-{}.zip", uuid::v7().str(), ::getpid());
  const auto other = dir / "unrelated.txt";
  for (const auto& p : {dead_zip, dead_tmp, mine, other}) std::ofstream(p) << "x";
  CHECK(w.flow.sweeps.stale_scratch_files() == 2);
  CHECK_FALSE(std::filesystem::exists(dead_zip));
  CHECK_FALSE(std::filesystem::exists(dead_tmp));
  CHECK(std::filesystem::exists(mine));
  CHECK(std::filesystem::exists(other));
}

// ----------------------------------------------------------------- revoke

TEST_CASE("revoke: a released egress package is refused at once, kept, audited and announced") {
  workflow_options o;
  o.link_warning = std::chrono::hours(24 * 8);  // the expiry warning would be due at once
  release_world rw(o);
  auto& w = rw.w;
  const auto r = approved_egress(w, {{"a.csv", "1\n", "", ""}});
  const link_client client{"10.2.2.2", "test"};
  // Not yet released: nothing to revoke.
  CHECK(thrown_by([&] { w.flow.releases.revoke(w.admin, r.id, "leak"); }).code() ==
        errc::invalid_transition);
  const auto rec = w.flow.releases.release(w.admin, r.id);
  CHECK(w.flow.releases.download(r.id, rec.link_token, client).size_bytes > 0);

  const auto events = w.rows("audit_events");
  const auto notes = w.rows("notifications");
  // Only tre_admin, and only with a reason.
  for (const auto* who : {&w.r1, &w.c1, &w.s1}) {
    const auto e = thrown_by([&] { w.flow.releases.revoke(*who, r.id, "leak"); });
    CHECK(e.code() == errc::forbidden);
    CHECK(std::string(e.what()) == "revoke: only tre_admin may do this");
  }
  for (const std::string blank : {"", "  \n\t"}) {
    const auto e = thrown_by([&] { w.flow.releases.revoke(w.admin, r.id, blank); });
    CHECK(e.code() == errc::invalid_argument);
    CHECK(std::string(e.what()).starts_with("reason:"));
  }
  CHECK(w.rows("audit_events") == events);
  CHECK(w.rows("notifications") == notes);
  CHECK(w.flow.requests.get(w.admin, r.id).status == request_status::released);

  const auto revoked =
      w.flow.releases.revoke(w.admin, r.id, "a small cell was found after release");
  CHECK(revoked.status == request_status::revoked);
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::revoked);
  // The event, with the reason.
  const auto last = w.trail(r.id).back();
  CHECK(last.event_type == "request.revoked");
  CHECK(last.actor == w.admin.user_id.str());
  const auto payload = test::payload_of(last);
  CHECK(payload.at("from") == "RELEASED");
  CHECK(payload.at("to") == "REVOKED");
  CHECK(payload.at("reason") == "a small cell was found after release");
  CHECK(payload.at("release_id") == json::value(rec.id.str()));
  // The owner and the round's checkers are told, nobody else.
  auto told = [&](const actor& who) { return w.notified(who, "request.revoked", r.id); };
  CHECK(told(w.r1) == 1);
  CHECK(told(w.c1) == 1);
  CHECK(told(w.c2) == 1);
  CHECK(told(w.s1) == 0);
  CHECK(told(w.r2) == 0);
  CHECK(told(w.admin) == 0);
  CHECK(w.fdb.count("SELECT count(*) FROM notifications WHERE event_type = 'request.revoked'") ==
        3);

  // The link is refused at once, writing nothing; the package is kept.
  const auto after = w.rows("audit_events");
  const auto e = thrown_by([&] { w.flow.releases.download(r.id, rec.link_token, client); });
  CHECK(e.code() == errc::forbidden);
  CHECK(std::string(e.what()).find("revoked") != std::string::npos);
  CHECK(thrown_by([&] { w.flow.releases.download(w.r1, r.id, rec.link_token, client); }).code() ==
        errc::forbidden);
  CHECK(w.rows("audit_events") == after);
  CHECK(w.blobs.exists(rec.crate_storage_key));
  CHECK(w.flow.releases.get(w.admin, r.id).crate_checksum_sha256 == rec.crate_checksum_sha256);
  const auto storage = w.flow.sweeps.check_storage(true, true, std::chrono::seconds(0));
  CHECK(storage.ok());
  CHECK(storage.orphans.empty());
  CHECK(w.blobs.exists(rec.crate_storage_key));
  // No new link, no expiry warning, no second revocation.
  CHECK(thrown_by([&] { w.flow.releases.renew_link(w.admin, r.id); }).code() ==
        errc::invalid_transition);
  CHECK(w.flow.sweeps.expiring_links().empty());
  CHECK(thrown_by([&] { w.flow.releases.revoke(w.admin, r.id, "again"); }).code() ==
        errc::invalid_transition);
  CHECK(w.rows("audit_events") == after);
}

TEST_CASE("revoke: refused for ingress deliveries and for requests that are not RELEASED") {
  release_world rw;
  auto& w = rw.w;
  auto r = w.flow.requests.create(w.admin, {w.proj.id, direction::ingress, "Lookup", ""});
  new_object in;
  in.filename = "codes.csv";
  const auto slot = w.flow.objects.add_slot(w.admin, r.id, in);
  w.flow.objects.confirm_upload(w.admin, r.id, slot.id, test::bytes_of("1,a\n"));
  w.flow.requests.submit(w.admin, r.id);
  w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
  w.flow.releases.deliver(w.admin, r.id);
  auto e = thrown_by([&] { w.flow.releases.revoke(w.admin, r.id, "wrong codes"); });
  CHECK(e.code() == errc::invalid_transition);
  CHECK(std::string(e.what()) == "revoke does not apply to ingress requests");
  CHECK(w.flow.requests.get(w.admin, r.id).status == request_status::released);

  const auto draft = w.draft(1);
  e = thrown_by([&] { w.flow.releases.revoke(w.admin, draft.id, "why"); });
  CHECK(e.code() == errc::invalid_transition);
  CHECK(std::string(e.what()) == "request is DRAFT; revoke is allowed only in RELEASED");
  const auto review = w.submitted(1);
  CHECK(thrown_by([&] { w.flow.releases.revoke(w.admin, review.id, "why"); }).code() ==
        errc::invalid_transition);
  CHECK(w.fdb.count("SELECT count(*) FROM audit_events WHERE event_type = 'request.revoked'") == 0);
}

// ---------------------------------------------------------- who downloaded

TEST_CASE("link downloads: a signed-in person is audited as themselves, anyone else as link") {
  release_world rw;
  auto& w = rw.w;
  const auto r = approved_egress(w, {{"a.csv", "1\n", "", ""}});
  const auto rec = w.flow.releases.release(w.admin, r.id);
  const link_client client{"10.3.3.3", "browser"};
  const auto last_actor = [&] { return w.trail(r.id).back().actor; };

  w.flow.releases.download(r.id, rec.link_token, client);
  CHECK(w.trail(r.id).back().event_type == "release.downloaded");
  CHECK(last_actor() == link_actor);
  w.flow.releases.download(w.r1, r.id, rec.link_token, client);
  CHECK(w.trail(r.id).back().event_type == "release.downloaded");
  CHECK(last_actor() == w.r1.user_id.str());
  CHECK(test::payload_of(w.trail(r.id).back()).at("link_id") ==
        json::value(link_signer::link_id(rec.link_token)));
  w.flow.releases.download(w.admin, r.id, rec.link_token, client);
  CHECK(last_actor() == w.admin.user_id.str());

  // The link stays the credential: a signed-in person with a bad token is refused.
  actor auditor = w.actor_for("audrey");
  auditor.auditor = true;
  w.dir.set_user_active(w.admin, w.r2.user_id, false);
  const auto events = w.rows("audit_events");
  CHECK(thrown_by([&] { w.flow.releases.download(w.r1, r.id, "v1.nope", client); }).code() ==
        errc::forbidden);
  // An auditor downloads nothing; a deactivated user nothing either.
  CHECK(thrown_by([&] {
          w.flow.releases.download(auditor, r.id, rec.link_token, client);
        }).code() == errc::forbidden);
  CHECK(thrown_by([&] { w.flow.releases.download(w.r2, r.id, rec.link_token, client); }).code() ==
        errc::forbidden);
  CHECK(w.rows("audit_events") == events);

  // The same for an ingress delivery's object links.
  auto in_req = w.flow.requests.create(w.admin, {w.proj.id, direction::ingress, "Lookup", ""});
  new_object in;
  in.filename = "codes.csv";
  const auto slot = w.flow.objects.add_slot(w.admin, in_req.id, in);
  w.flow.objects.confirm_upload(w.admin, in_req.id, slot.id, test::bytes_of("1,a\n"));
  w.flow.requests.submit(w.admin, in_req.id);
  w.flow.reviews.record(w.c1, in_req.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, in_req.id, test::decide(review_decision::approved));
  const auto d = w.flow.releases.deliver(w.admin, in_req.id);
  const auto t = token_of(d.objects[0].download_url);
  w.flow.releases.delivered_download(w.r1, in_req.id, slot.id, t, client);
  CHECK(w.trail(in_req.id).back().event_type == "delivery.downloaded");
  CHECK(w.trail(in_req.id).back().actor == w.r1.user_id.str());
  w.flow.releases.delivered_download(in_req.id, slot.id, t, client);
  CHECK(w.trail(in_req.id).back().actor == link_actor);
}

}  // namespace trevor

namespace trevor {

TEST_CASE("release heartbeat: a silent holder on any host is returned, a beating one is kept") {
  workflow_options o;
  o.release_heartbeat_timeout = std::chrono::milliseconds(300);
  release_world rw(o);
  auto& w = rw.w;
  const auto approved = [&] {
    const auto r = w.draft(1);
    w.flow.requests.submit(w.r1, r.id);
    w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
    w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));
    return r;
  };
  const auto releasing = [&](const airlock_request& r) {
    w.fdb.exec(fmt::format("UPDATE airlock_requests SET status = 'RELEASING' WHERE id = '{}'",
                           r.id.str()));
    // A holder on another host: its pid says nothing here.
    w.fdb.exec(fmt::format(
        "INSERT INTO release_heartbeats (request_id, release_id, holder) VALUES ('{}', '{}', "
        "'another-host.example:4242')",
        r.id.str(), uuid::v7().str()));
  };
  const auto silent = approved(), beating = approved();
  releasing(silent);
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  releasing(beating);  // its (only) beat is now
  const auto returned = w.flow.sweeps.interrupted_releases();
  REQUIRE(returned.size() == 1);
  CHECK(returned[0].id == silent.id);
  CHECK(w.flow.requests.get(w.r1, silent.id).status == request_status::approved);
  CHECK(w.flow.requests.get(w.r1, beating.id).status == request_status::releasing);
  const auto failed = w.trail(silent.id).back();
  CHECK(failed.event_type == "request.release_failed");
  CHECK(test::payload_of(failed).at("detail").as_string().find("no heartbeat") !=
        std::string::npos);
  // Both heartbeats stay as records (never deleted); a second sweep finds
  // nothing more to return.
  CHECK(w.fdb.count(fmt::format("SELECT COUNT(*) FROM release_heartbeats WHERE request_id = '{}'",
                                silent.id.str())) == 1);
  CHECK(w.fdb.count(fmt::format("SELECT COUNT(*) FROM release_heartbeats WHERE request_id = '{}'",
                                beating.id.str())) == 1);
  CHECK(w.flow.sweeps.interrupted_releases().empty());
}

TEST_CASE("release heartbeat: a long release beats, so a sweep meanwhile leaves it alone") {
  workflow_options o;
  o.release_heartbeat_interval = std::chrono::milliseconds(20);
  o.release_heartbeat_timeout = std::chrono::milliseconds(300);
  release_world rw(o);
  auto& w = rw.w;
  const auto r = w.draft(0);
  // Large enough that building the package takes longer than the heartbeat timeout.
  new_object big;
  big.filename = "big.bin";
  big.output_type = output_type::other;
  w.flow.objects.add(w.r1, r.id, big, test::bytes_of(std::string(96u << 20, 'q'), 1 << 20));
  w.flow.requests.submit(w.r1, r.id);
  w.flow.reviews.record(w.c1, r.id, test::decide(review_decision::approved));
  w.flow.reviews.record(w.c2, r.id, test::decide(review_decision::approved));

  std::atomic<bool> done{false};
  std::atomic<int> sweeps{0}, returned{0}, beats_seen{0};
  std::thread sweeper([&] {
    while (!done.load()) {
      returned += static_cast<int>(w.flow.sweeps.interrupted_releases().size());
      beats_seen += static_cast<int>(w.rows("release_heartbeats"));
      ++sweeps;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  const auto record = w.flow.releases.release(w.admin, r.id);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  done = true;
  sweeper.join();
  MESSAGE("release of 96 MiB: " << seconds << " s, " << sweeps.load() << " sweeps meanwhile");
  CHECK(returned.load() == 0);
  CHECK(beats_seen.load() > 0);  // the sweeps saw the release's heartbeat
  CHECK(seconds > 0.3);          // longer than the heartbeat timeout: the beats kept it
  CHECK(record.request_id == r.id);
  CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::released);
  // The release's heartbeat stays as its record: this process built it.
  CHECK(w.fdb.count(fmt::format("SELECT COUNT(*) FROM release_heartbeats WHERE request_id = '{}' "
                                "AND release_id = '{}' AND holder LIKE '%:{}'",
                                r.id.str(), record.id.str(), ::getpid())) == 1);
}

TEST_CASE(
    "release heartbeat: only beat_at changes, and no row is deleted (raw SQL on the engine)") {
  release_world rw;
  auto& w = rw.w;
  const auto r = w.draft(1);
  w.fdb.exec(fmt::format(
      "INSERT INTO release_heartbeats (request_id, release_id, holder) VALUES ('{}', '{}', 'h:1')",
      r.id.str(), uuid::v7().str()));
  for (const auto* set : {"holder = 'h:2'", "release_id = request_id",
                          "started_at = '2000-01-01T00:00:00.000000Z'"}) {
    const auto e = w.fdb.exec_fails(
        fmt::format("UPDATE release_heartbeats SET {} WHERE request_id = '{}'", set, r.id.str()));
    CHECK_MESSAGE(std::string(e.what()).find("immutable") != std::string::npos, set);
  }
  w.fdb.exec(fmt::format(
      "UPDATE release_heartbeats SET beat_at = started_at WHERE request_id = '{}'", r.id.str()));
  const auto e = w.fdb.exec_fails(
      fmt::format("DELETE FROM release_heartbeats WHERE request_id = '{}'", r.id.str()));
  CHECK(std::string(e.what()).find("never deleted") != std::string::npos);
  CHECK(w.rows("release_heartbeats") == 1);
}

}  // namespace trevor
