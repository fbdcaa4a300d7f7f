// Release and delivery through trevord, on the engine under test: the
// package behind its signed link, tampering caught, refusals with their
// status and detail, and an ingress request from slots to downloads.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/json.hpp>

#include "harness.hpp"

namespace trevord::test {

namespace json = boost::json;
using world = project_world;

namespace {

/// The path and query of a link (the daemon's public URL is configuration).
std::string path_of(const std::string& url) {
  const auto at = url.find("/requests/");
  REQUIRE(at != std::string::npos);
  return url.substr(at);
}

void approve(daemon& d, const std::string& id) {
  for (const char* who : {world::c1, world::c2})
    REQUIRE(d.post("/requests/" + id + "/reviews", who,
                   json::object{{"decision", "approved"}, {"summary", "ok"}})
                .status == 201);
  REQUIRE(str(d.get("/requests/" + id, world::admin).json(), "status") == "APPROVED");
}

/// Rows of the audit trail (raw count).
long long audit_rows(daemon& d) {
  return d.database().count("SELECT count(*) FROM audit_events");
}

std::vector<std::string> audit_types(daemon& d, const std::string& id) {
  std::vector<std::string> out;
  const auto trail = d.get("/requests/" + id + "/audit", world::admin).json();
  for (const auto& e : trail.as_array()) out.emplace_back(e.at("event_type").as_string());
  return out;
}

}  // namespace

TEST_CASE("egress release over HTTP: 202, the package behind its link, refusals") {
  daemon d;
  world w(d);
  const auto id = w.draft("Mortality");
  const std::string content = "age,rate\n40,1.5\n";
  w.upload(id, content, "rates.csv");
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  CHECK(d.post("/requests/" + id + "/release", world::admin).status == 409);  // not yet approved
  approve(d, id);

  auto refused = d.post("/requests/" + id + "/release", world::r1);
  CHECK(refused.status == 403);
  CHECK(refused.detail().find("tre_admin") != std::string::npos);
  CHECK(d.get("/requests/" + id + "/release", world::r1).status == 404);

  auto rel = d.post("/requests/" + id + "/release", world::admin);
  REQUIRE(rel.status == 202);
  const auto record = rel.json();
  CHECK(str(record, "request_id") == id);
  CHECK(str(record, "download_url") == str(record, "presigned_url"));
  const auto me = d.get("/users/me", world::admin).json();
  CHECK(str(record, "released_by") == str(me, "id"));
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "RELEASED");
  auto again = d.get("/requests/" + id + "/release", world::r1);
  REQUIRE(again.status == 200);
  CHECK(str(again.json(), "crate_checksum_sha256") == str(record, "crate_checksum_sha256"));

  // The link needs no other credential; the bytes hash to the recorded checksum.
  const auto link = path_of(str(record, "download_url"));
  auto zip = d.get(link, "");
  REQUIRE(zip.status == 200);
  CHECK(zip.headers.at("content-type") == "application/zip");
  CHECK(sha256_hex(zip.body) == str(record, "crate_checksum_sha256"));
  CHECK(zip.body.rfind("PK\x03\x04", 0) == 0);
  CHECK(zip.body.find(content) != std::string::npos);  // stored, not deflated
  CHECK(zip.body.find("ro-crate-metadata.json") != std::string::npos);
  const auto types = audit_types(d, id);
  CHECK(std::count(types.begin(), types.end(), "release.downloaded") == 1);

  // Altered, missing, or another request's: 403 with the reason, nothing written.
  const auto other = w.draft("Other");
  const auto events_before = audit_rows(d);
  std::string altered = link;
  altered.back() = altered.back() == '0' ? '1' : '0';
  auto bad = d.get(altered, "");
  CHECK(bad.status == 403);
  CHECK(bad.detail().find("signature") != std::string::npos);
  auto none = d.get("/requests/" + id + "/release/download", "");
  CHECK(none.status == 403);
  CHECK(none.detail().find("token") != std::string::npos);
  CHECK(d.get("/requests/" + other + "/release/download?" + link.substr(link.find("token=")), "")
            .status == 403);
  CHECK(audit_rows(d) == events_before);

  // Releasing twice: 409. A fresh link (tre_admin): the old one is refused.
  CHECK(d.post("/requests/" + id + "/release", world::admin).status == 409);
  CHECK(d.post("/requests/" + id + "/release/link", world::r1).status == 403);
  auto renewed = d.post("/requests/" + id + "/release/link", world::admin);
  REQUIRE(renewed.status == 200);
  CHECK(str(renewed.json(), "download_url") != str(record, "download_url"));
  const auto events_renewed = audit_rows(d);
  auto old = d.get(link, "");
  CHECK(old.status == 403);
  CHECK(old.detail().find("replaced") != std::string::npos);
  CHECK(audit_rows(d) == events_renewed);
  CHECK(d.get(path_of(str(renewed.json(), "download_url")), "").status == 200);
}

TEST_CASE("release over HTTP: storage keys and paths are for tre_admin only") {
  daemon d;
  world w(d);
  const auto id = w.draft("Storage");
  w.upload(id, "a,b\n1,2\n", "s.csv");
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  approve(d, id);
  auto rel = d.post("/requests/" + id + "/release", world::admin);
  REQUIRE(rel.status == 202);
  const auto key = str(rel.json(), "crate_storage_key");
  CHECK(key.starts_with("releases/" + w.project_id + "/" + id + "/"));

  // The record: the researcher sees everything but where the package is kept.
  const auto mine = d.get("/requests/" + id + "/release", world::r1);
  REQUIRE(mine.status == 200);
  CHECK_FALSE(mine.json().as_object().contains("crate_storage_key"));
  CHECK(mine.body.find(key) == std::string::npos);
  CHECK(str(mine.json(), "crate_checksum_sha256") == str(rel.json(), "crate_checksum_sha256"));
  CHECK(!str(mine.json(), "download_url").empty());
  const auto theirs = d.get("/requests/" + id + "/release", world::admin);
  REQUIRE(theirs.status == 200);
  CHECK(str(theirs.json(), "crate_storage_key") == key);
  auto renewed = d.post("/requests/" + id + "/release/link", world::admin);
  REQUIRE(renewed.status == 200);
  CHECK(str(renewed.json(), "crate_storage_key") == key);

  // The request's audit trail: the same for members, the whole payload for tre_admin.
  const auto trail = d.get("/requests/" + id + "/audit", world::r1);
  REQUIRE(trail.status == 200);
  CHECK(trail.body.find(key) == std::string::npos);
  CHECK(trail.body.find("request.released") != std::string::npos);
  CHECK(d.get("/requests/" + id + "/audit", world::admin).body.find(key) != std::string::npos);

  // A link holder whose package is gone from the store is not told where it was.
  std::filesystem::remove(std::filesystem::path(d.cfg().storage_dir) / key);
  auto gone = d.get(path_of(str(renewed.json(), "download_url")), "");
  CHECK(gone.status >= 400);
  CHECK(gone.detail().find(key) == std::string::npos);
  CHECK(gone.detail().find(d.cfg().storage_dir) == std::string::npos);
}

TEST_CASE("the daemon's periodic sweep warns a release's owner once before the link expires") {
  daemon d([](config& c) {
    c.sweep_seconds = 1;
    c.link_warning_hours = 24 * 8;  // longer than the 7-day link: due as soon as it exists
  });
  world w(d);
  const auto id = w.draft("Swept");
  w.upload(id, "x\n", "x.csv");
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  approve(d, id);
  REQUIRE(d.post("/requests/" + id + "/release", world::admin).status == 202);
  auto warnings = [&] {
    const auto rows = d.get("/notifications?limit=100", world::r1).json();
    return std::count_if(rows.as_array().begin(), rows.as_array().end(), [](const json::value& n) {
      return n.at("event_type") == "presigned_url.expiring_soon";
    });
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (warnings() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(warnings() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two more sweeps
  CHECK(warnings() == 1);
  const auto types = audit_types(d, id);
  CHECK(std::count(types.begin(), types.end(), "presigned_url.expiring_soon") == 1);
  CHECK(!str(d.get("/requests/" + id + "/release", world::r1).json(), "expiry_warned_at").empty());
}

TEST_CASE("release over HTTP: a file changed after approval is refused with 409, audited") {
  daemon d;
  world w(d);
  const auto id = w.draft("Tampered");
  const auto object = w.upload(id, "a,b\n1,2\n", "t.csv");
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  approve(d, id);
  const auto key = std::string(d.database().text(
      "SELECT storage_key FROM output_objects WHERE id = '" + str(object, "id") + "'"));
  const auto path = std::filesystem::path(d.cfg().storage_dir) / key;
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "a,b\n1,3\n";

  auto rel = d.post("/requests/" + id + "/release", world::admin);
  CHECK(rel.status == 409);
  CHECK(rel.detail().find(str(object, "id")) != std::string::npos);
  CHECK(rel.detail().find("SHA-256") != std::string::npos);
  CHECK(str(d.get("/requests/" + id, world::admin).json(), "status") == "APPROVED");
  CHECK(audit_types(d, id).back() == "request.release_failed");
  CHECK(d.get("/requests/" + id + "/release", world::admin).status == 404);
}

TEST_CASE("ingress over HTTP: slots, upload links, review, delivery and its download links") {
  daemon d;
  world w(d);
  auto created = d.post(
      "/requests", world::admin,
      json::object{
          {"project_id", w.project_id}, {"direction", "ingress"}, {"title", "Reference data"}});
  REQUIRE(created.status == 201);
  const auto id = str(created.json(), "id");
  auto slot = d.post("/requests/" + id + "/slots", world::admin,
                     json::object{{"filename", "lookup.csv"}, {"output_type", "tabular"}});
  REQUIRE(slot.status == 201);
  const auto oid = str(slot.json(), "id");
  CHECK(slot.json().at("checksum_sha256").is_null());
  CHECK(d.post("/requests/" + id + "/slots", world::admin, json::object{{"filenam", "x"}}).status ==
        422);
  auto slot2 =
      d.post("/requests/" + id + "/slots", world::admin, json::object{{"filename", "codes.txt"}});
  const auto oid2 = str(slot2.json(), "id");
  CHECK(d.post("/requests/" + id + "/submit", world::admin).status == 422);  // slots unfilled

  CHECK(d.post("/requests/" + id + "/objects/" + oid + "/upload-link", world::c1).status == 403);
  auto link = d.post("/requests/" + id + "/objects/" + oid + "/upload-link", world::admin);
  REQUIRE(link.status == 201);
  const auto upload = path_of(str(link.json(), "upload_url"));
  const std::string content = "code,label\n1,a\n";
  // Another slot's path with this token: 403; a JSON body: 415. Neither writes anything.
  const auto events_before = audit_rows(d);
  auto wrong = d.call(
      {"PUT",
       "/requests/" + id + "/objects/" + oid2 + "/upload?" + upload.substr(upload.find("token=")),
       "", content, "application/octet-stream"});
  CHECK(wrong.status == 403);
  CHECK(d.call({"PUT", upload, "", content, "application/json"}).status == 415);
  CHECK(audit_rows(d) == events_before);
  auto put = d.call({"PUT", upload, "", content, "application/octet-stream"});
  REQUIRE(put.status == 200);
  CHECK(str(put.json(), "checksum_sha256") == sha256_hex(content));
  CHECK(d.call({"PUT", upload, "", "again", "application/octet-stream"}).status == 409);
  auto link2 = d.post("/requests/" + id + "/objects/" + oid2 + "/upload-link", world::s1);
  REQUIRE(link2.status == 201);
  REQUIRE(d.call({"PUT", path_of(str(link2.json(), "upload_url")), "", "A01\n",
                  "application/octet-stream"})
              .status == 200);

  REQUIRE(d.post("/requests/" + id + "/submit", world::admin).status == 200);
  approve(d, id);
  CHECK(d.post("/requests/" + id + "/deliver", world::r1).status == 403);
  CHECK(d.post("/requests/" + id + "/release", world::admin).status == 409);
  auto delivered = d.post("/requests/" + id + "/deliver", world::admin);
  REQUIRE(delivered.status == 202);
  const auto del = delivered.json();
  CHECK(del.at("object_count").as_int64() == 2);
  const auto& urls = del.at("object_urls").as_array();
  REQUIRE(urls.size() == 2);
  CHECK(str(urls[0], "object_id") == oid);
  CHECK(str(urls[0], "checksum_sha256") == sha256_hex(content));
  auto got = d.get(path_of(str(urls[0], "download_url")), "");
  REQUIRE(got.status == 200);
  CHECK(got.body == content);
  // One object's token on another object's path: 403, nothing written.
  const auto events_delivered = audit_rows(d);
  const auto u0 = path_of(str(urls[0], "download_url"));
  auto swapped = d.get(
      "/requests/" + id + "/delivery/objects/" + oid2 + "?" + u0.substr(u0.find("token=")), "");
  CHECK(swapped.status == 403);
  CHECK(audit_rows(d) == events_delivered);
  CHECK(str(d.get("/requests/" + id, world::admin).json(), "status") == "RELEASED");
  auto read = d.get("/requests/" + id + "/delivery", world::r1);
  REQUIRE(read.status == 200);
  CHECK(str(read.json(), "id") == str(del, "id"));
  CHECK(d.post("/requests/" + id + "/deliver", world::admin).status == 409);
  const auto types = audit_types(d, id);
  CHECK(std::count(types.begin(), types.end(), "delivery.downloaded") == 1);
  CHECK(std::count(types.begin(), types.end(), "object.upload_link_issued") == 2);
}

}  // namespace trevord::test

namespace trevord::test {

TEST_CASE("links expire over HTTP: release, delivery and upload links work, then are refused") {
  // Lifetimes of seconds (the configuration counts whole hours): each link is
  // used once at once, then again after its expiry (database time).
  constexpr auto lifetime = std::chrono::seconds(3);
  daemon d({}, [&](trevor::workflow_options& o) {
    o.release_link_ttl = lifetime;
    o.delivery_link_ttl = lifetime;
    o.upload_link_ttl = lifetime;
  });
  world w(d);

  // An approved egress request, an approved ingress request, and an ingress
  // draft with two empty slots.
  const auto egress = w.draft("Released");
  w.upload(egress, "age,n\n40,12\n", "t.csv");
  REQUIRE(d.post("/requests/" + egress + "/submit", world::r1).status == 200);
  approve(d, egress);
  auto ingress_request = [&](const std::string& title) {
    auto r = d.post(
        "/requests", world::admin,
        json::object{{"project_id", w.project_id}, {"direction", "ingress"}, {"title", title}});
    REQUIRE(r.status == 201);
    return str(r.json(), "id");
  };
  auto slot = [&](const std::string& id, const std::string& filename) {
    auto s =
        d.post("/requests/" + id + "/slots", world::admin, json::object{{"filename", filename}});
    REQUIRE(s.status == 201);
    return str(s.json(), "id");
  };
  auto upload_link = [&](const std::string& id, const std::string& oid) {
    auto l = d.post("/requests/" + id + "/objects/" + oid + "/upload-link", world::admin);
    REQUIRE(l.status == 201);
    return l.json();
  };
  auto put = [&](const json::value& link, const std::string& bytes) {
    return d.call({"PUT", path_of(str(link, "upload_url")), "", bytes, "application/octet-stream"});
  };
  const auto delivered = ingress_request("Delivered");
  const auto delivered_slot = slot(delivered, "lookup.csv");
  REQUIRE(put(upload_link(delivered, delivered_slot), "code\n1\n").status == 200);
  REQUIRE(d.post("/requests/" + delivered + "/submit", world::admin).status == 200);
  approve(d, delivered);
  const auto draft = ingress_request("Draft");
  const auto used_slot = slot(draft, "a.csv");
  const auto idle_slot = slot(draft, "b.csv");

  // Each link works when issued.
  auto rel = d.post("/requests/" + egress + "/release", world::admin);
  REQUIRE(rel.status == 202);
  const auto release_link = path_of(str(rel.json(), "download_url"));
  CHECK(d.get(release_link, "").status == 200);
  auto del = d.post("/requests/" + delivered + "/deliver", world::admin);
  REQUIRE(del.status == 202);
  const auto delivery_link =
      path_of(str(del.json().at("object_urls").as_array()[0], "download_url"));
  CHECK(d.get(delivery_link, "").body == "code\n1\n");
  const auto used = upload_link(draft, used_slot);
  const auto idle = upload_link(draft, idle_slot);
  CHECK(put(used, "x\n").status == 200);

  // After the last expiry, every one of them is refused as expired, and the
  // refusals write nothing.
  std::int64_t last = 0;
  for (const auto& expiry : {str(rel.json(), "url_expires_at"), str(del.json(), "url_expires_at"),
                             str(used, "url_expires_at"), str(idle, "url_expires_at")}) {
    const auto t = trevor::timestamp::parse(expiry);
    REQUIRE(t.has_value());
    last = std::max(last, t->micros());
  }
  const auto now = trevor::timestamp::from_sys(std::chrono::system_clock::now()).micros();
  CHECK(last - now <= std::chrono::microseconds(lifetime).count());  // seconds, not hours
  std::this_thread::sleep_for(std::chrono::microseconds(last - now) +
                              std::chrono::milliseconds(100));
  const auto events = audit_rows(d);
  auto expired = [](const http_response& r) {
    REQUIRE(r.status == 403);
    const auto detail = r.detail();
    CHECK_MESSAGE(detail.find("expired") != std::string::npos, detail);
  };
  expired(d.get(release_link, ""));
  expired(d.get(delivery_link, ""));
  expired(put(idle, "late\n"));
  CHECK(audit_rows(d) == events);
  CHECK(d.database().count("SELECT count(*) FROM output_objects WHERE id = '" + idle_slot +
                           "' AND size_bytes > 0") == 0);
}

}  // namespace trevord::test
