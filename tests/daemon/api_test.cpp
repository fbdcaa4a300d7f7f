// trevord's API over real HTTP, on the engine under test: each endpoint's
// happy path and its refusals, with the status and a detail that names the
// problem.
#include <chrono>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "api/routes.hpp"
#include "harness.hpp"
#include "trevor/blob_store.hpp"

namespace trevord::test {

namespace json = boost::json;
using world = project_world;

namespace {
std::int64_t count_rows(daemon& d, const std::string& table) {
  return d.database().count("SELECT COUNT(*) FROM " + table);
}
/// Row counts of every table a request can touch: a refused call leaves them as they were.
std::vector<std::int64_t> snapshot(daemon& d) {
  std::vector<std::int64_t> out;
  for (const char* t :
       {"airlock_requests", "output_objects", "output_object_metadata", "reviews", "audit_events",
        "notifications", "project_memberships", "users", "projects"})
    out.push_back(count_rows(d, t));
  return out;
}
}  // namespace

TEST_CASE("operations endpoints answer without credentials") {
  daemon d;
  auto h = d.get("/health", "");
  CHECK(h.status == 200);
  CHECK(str(h.json(), "status") == "ok");
  CHECK(d.get("/livez", "").status == 200);
  auto ready = d.get("/readyz", "");
  CHECK(ready.status == 200);
  CHECK(str(ready.json(), "status") == "ready");
  auto doc = d.get("/openapi.json", "");
  CHECK(doc.status == 200);
  CHECK(str(doc.json(), "openapi") == "3.1.0");
  CHECK(!h.headers.at("x-request-id").empty());
}

TEST_CASE("the OpenAPI document lists exactly the routes the router serves") {
  const auto doc = json::parse(std::string(openapi_document()));
  std::set<std::string> documented, served;
  for (const auto& [path, item] : doc.at("paths").as_object())
    for (const auto& [method, op] : item.as_object()) {
      std::string m(method);
      for (auto& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      documented.insert(m + " " + std::string(path));
      CHECK_MESSAGE(op.as_object().contains("responses"), path);
    }
  for (const auto& r : routes())
    served.insert(std::string(boost::beast::http::to_string(r.method)) + " " +
                  std::string(r.pattern));
  for (const auto& s : served) CHECK_MESSAGE(documented.count(s) == 1, "undocumented: " << s);
  for (const auto& s : documented) CHECK_MESSAGE(served.count(s) == 1, "not served: " << s);
  // Every schema reference resolves.
  const auto& schemas = doc.at("components").at("schemas").as_object();
  const std::string text(openapi_document());
  for (std::size_t at = 0; (at = text.find("#/components/schemas/", at)) != std::string::npos;) {
    at += 21;
    const auto name = text.substr(at, text.find('"', at) - at);
    CHECK_MESSAGE(schemas.contains(name), "dangling $ref " << name);
  }
}

TEST_CASE("unknown routes are 404, wrong methods 405, and credentials are required") {
  daemon d;
  auto r = d.get("/nope", "dev:r1");
  CHECK(r.status == 404);
  CHECK(r.detail().find("/nope") != std::string::npos);
  auto m = d.call({"PUT", "/requests", "dev:r1", "", ""});
  CHECK(m.status == 405);
  CHECK(m.detail().find("GET") != std::string::npos);
  CHECK(m.detail().find("POST") != std::string::npos);
  CHECK(m.headers.count("allow") == 1);
  auto anon = d.get("/requests", "");
  CHECK(anon.status == 401);
  CHECK(anon.detail().find("Authorization") != std::string::npos);
  auto basic = d.call({"GET", "/requests", "", "", "", {{"Authorization", "Basic eDp5"}}});
  CHECK(basic.status == 401);
  auto bad_dev = d.get("/users/me", "dev:bad name");
  CHECK(bad_dev.status == 401);
}

TEST_CASE("development bypass: dev:<user>[:roles], *admin*, anything else") {
  daemon d;
  auto alice = d.get("/users/me", "dev:alice:tre_admin,other").json();
  CHECK(str(alice, "username") == "alice");
  CHECK(alice.at("is_admin").as_bool());
  CHECK(alice.at("realm_roles").as_array().size() == 2);
  auto adminish = d.get("/users/me", "my-admin-token").json();
  CHECK(str(adminish, "username") == "dev-bypass-admin");
  CHECK(adminish.at("is_admin").as_bool());
  auto anyone = d.get("/users/me", "whatever").json();
  CHECK(str(anyone, "username") == "dev-bypass-user");
  CHECK_FALSE(anyone.at("is_admin").as_bool());
  // The same person twice is one user row.
  CHECK(str(d.get("/users/me", "dev:alice").json(), "id") == str(alice, "id"));
}

TEST_CASE("an egress request from creation to APPROVED over HTTP") {
  daemon d;
  world w(d);
  const auto id = w.draft("Regression table");
  const std::string content = "age,count\n30-39,12\n40-49,17\n";
  const auto object = w.upload(id, content, "ages by decade.csv");
  CHECK(str(object, "state") == "PENDING");
  CHECK(str(object, "filename") == "ages by decade.csv");
  CHECK(str(object, "checksum_sha256") == sha256_hex(content));
  CHECK(object.at("size_bytes").as_int64() == static_cast<std::int64_t>(content.size()));
  const auto oid = str(object, "id");

  // A raw body upload with the fields as query parameters.
  auto raw =
      d.call({"POST",
              "/requests/" + id + "/objects?filename=fig%201.png&output_type=figure&statbarn=graph",
              world::r1, "PNG-bytes", "application/octet-stream"});
  REQUIRE(raw.status == 201);
  CHECK(str(raw.json(), "filename") == "fig 1.png");
  CHECK(str(raw.json(), "output_type") == "figure");

  auto detail = d.get("/requests/" + id, world::r1);
  REQUIRE(detail.status == 200);
  CHECK(detail.json().at("objects").as_array().size() == 2);
  CHECK(str(detail.json(), "submitted_by") == w.user_ids["r1"]);

  auto submit = d.post("/requests/" + id + "/submit", world::r1);
  REQUIRE(submit.status == 200);
  CHECK(str(submit.json(), "status") == "HUMAN_REVIEW");
  CHECK(d.post("/requests/" + id + "/submit", world::r1).status == 409);

  // Checkers download the bytes; the owner may not.
  auto bytes = d.get("/requests/" + id + "/objects/" + oid + "/content", world::c1);
  CHECK(bytes.status == 200);
  CHECK(bytes.body == content);
  CHECK(bytes.headers.at("content-type") == "application/octet-stream");
  CHECK(bytes.headers.at("content-disposition") == "attachment; filename=\"ages_by_decade.csv\"");
  auto owner = d.get("/requests/" + id + "/objects/" + oid + "/content", world::r1);
  CHECK(owner.status == 403);
  CHECK(owner.detail().find("owner") != std::string::npos);

  auto first = d.post("/requests/" + id + "/reviews", world::c1,
                      json::object{{"decision", "approved"}, {"summary", "fine"}});
  REQUIRE(first.status == 201);
  CHECK(str(first.json(), "reviewer_id") == w.user_ids["c1"]);
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "HUMAN_REVIEW");
  auto second = d.post("/requests/" + id + "/reviews", world::c2,
                       json::object{{"decision", "approved"},
                                    {"summary", "ok"},
                                    {"object_decisions",
                                     json::array{json::object{{"object_id", oid},
                                                              {"decision", "approved"},
                                                              {"feedback", "well suppressed"}}}}});
  REQUIRE(second.status == 201);
  auto done = d.get("/requests/" + id, world::r1).json();
  CHECK(str(done, "status") == "APPROVED");
  CHECK(done.at("closed_at").is_string());

  auto reviews = d.get("/requests/" + id + "/reviews", world::r1);
  CHECK(reviews.json().as_array().size() == 2);
  auto one = d.get("/requests/" + id + "/reviews/" + str(first.json(), "id"), world::s1);
  CHECK(one.status == 200);
  CHECK(str(one.json(), "summary") == "fine");

  auto audit = d.get("/requests/" + id + "/audit", world::r1).json().as_array();
  std::vector<std::string> types;
  std::int64_t last_seq = 0;
  for (const auto& e : audit) {
    types.push_back(str(e, "event_type"));
    CHECK(e.at("seq").as_int64() > last_seq);
    last_seq = e.at("seq").as_int64();
  }
  REQUIRE(types.size() >= 7);
  CHECK(types.front() == "request.created");
  CHECK(std::count(types.begin(), types.end(), "object.downloaded") == 1);
  CHECK(std::count(types.begin(), types.end(), "request.approved") == 1);
  for (const auto& e : audit)
    if (str(e, "event_type") == "request.approved") {
      CHECK(str(e.at("payload"), "from") == "HUMAN_REVIEW");
      CHECK(str(e.at("payload"), "to") == "APPROVED");
    }

  // The checker's feedback landed in the object's metadata.
  auto meta = d.get("/requests/" + id + "/objects/" + oid + "/metadata", world::r1).json();
  CHECK(meta.at("checker_feedback").as_array().size() == 1);

  // Notifications: the owner heard of the approval.
  auto count = d.get("/notifications/unread-count", world::r1).json();
  CHECK(count.at("count").as_int64() >= 1);
}

TEST_CASE("lists: requests by membership, projects, memberships, users") {
  daemon d;
  world w(d);
  const auto id = w.draft();
  CHECK(d.get("/requests", world::r1).json().as_array().size() == 1);
  CHECK(d.get("/requests", world::outsider).json().as_array().empty());
  CHECK(d.get("/requests", world::admin).json().as_array().size() == 1);
  CHECK(d.get("/requests?status=DRAFT&project_id=" + w.project_id, world::c1)
            .json()
            .as_array()
            .size() == 1);
  CHECK(d.get("/requests?status=APPROVED", world::c1).json().as_array().empty());
  auto bad_status = d.get("/requests?status=approved", world::c1);
  CHECK(bad_status.status == 422);
  CHECK(bad_status.detail().find("DRAFT") != std::string::npos);
  CHECK(d.get("/requests?project_id=nope", world::c1).status == 422);

  CHECK(d.get("/projects", world::outsider).json().as_array().size() == 1);
  CHECK(str(d.get("/projects/" + w.project_id, world::r1).json(), "status") == "active");
  CHECK(d.get("/projects/" + trevor::uuid::v7().str(), world::r1).status == 404);
  auto members = d.get("/memberships/project/" + w.project_id, world::r1).json().as_array();
  CHECK(members.size() == 4);
  CHECK(d.get("/users", world::r1).status == 403);
  auto users = d.get("/users?username=c1", world::admin).json().as_array();
  REQUIRE(users.size() == 1);
  CHECK(str(users[0], "id") == w.user_ids["c1"]);
  auto me = d.get("/users/me", world::r1).json();
  CHECK(me.at("memberships").as_array().size() == 1);
  CHECK(str(me.at("memberships").as_array()[0], "role") == "researcher");
  (void)id;
}

TEST_CASE("memberships: 201, 403, 409 for a duplicate and a role conflict, 204 on delete") {
  daemon d;
  world w(d);
  const json::object grant{
      {"user_id", w.user_ids["outsider"]}, {"project_id", w.project_id}, {"role", "researcher"}};
  CHECK(d.post("/memberships", world::r1, grant).status == 403);
  auto created = d.post("/memberships", world::admin, grant);
  REQUIRE(created.status == 201);
  CHECK(str(created.json(), "assigned_by") == str(d.get("/users/me", world::admin).json(), "id"));
  CHECK(d.post("/memberships", world::admin, grant).status == 409);
  auto conflict = d.post("/memberships", world::admin,
                         json::object{{"user_id", w.user_ids["outsider"]},
                                      {"project_id", w.project_id},
                                      {"role", "output_checker"}});
  CHECK(conflict.status == 409);
  auto bad_role = d.post(
      "/memberships", world::admin,
      json::object{
          {"user_id", w.user_ids["outsider"]}, {"project_id", w.project_id}, {"role", "owner"}});
  CHECK(bad_role.status == 422);
  CHECK(bad_role.detail().find("role") != std::string::npos);
  const auto mid = str(created.json(), "id");
  CHECK(d.del("/memberships/" + mid, world::r1).status == 403);
  auto removed = d.del("/memberships/" + mid, world::admin);
  CHECK(removed.status == 204);
  CHECK(removed.body.empty());
  CHECK(d.del("/memberships/" + mid, world::admin).status == 404);
}

TEST_CASE("project sync: counts, archive, and malformed lists") {
  daemon d;
  world w(d);
  const auto other = trevor::uuid::v7().str();
  auto r = d.post(
      "/admin/projects/sync", world::admin,
      json::object{{"projects", json::array{json::object{
                                    {"id", other}, {"name", "p2"}, {"display_name", "P2"}}}}});
  REQUIRE(r.status == 200);
  CHECK(r.json().at("created").as_int64() == 1);
  CHECK(r.json().at("archived").as_int64() == 1);
  CHECK(str(d.get("/projects/" + w.project_id, world::r1).json(), "status") == "archived");
  // An archived project refuses new requests.
  auto refused = d.post(
      "/requests", world::r1,
      json::object{{"project_id", w.project_id}, {"direction", "egress"}, {"title", "late"}});
  CHECK(refused.status == 409);
  CHECK(
      d.post("/admin/projects/sync", world::r1, json::object{{"projects", json::array{}}}).status ==
      403);
  // A list given as null is refused, not read as "no projects" (which would
  // archive every project).
  auto null_list =
      d.post("/admin/projects/sync", world::admin, json::object{{"projects", nullptr}});
  CHECK(null_list.status == 422);
  CHECK(null_list.detail().find("projects: must be an array, not null") != std::string::npos);
  CHECK(str(d.get("/projects/" + other, world::r1).json(), "status") == "active");
  auto bad = d.post("/admin/projects/sync", world::admin,
                    json::object{{"projects", json::array{json::object{{"id", "x"}}}}});
  CHECK(bad.status == 422);
  CHECK(bad.detail().find("projects[0].id") != std::string::npos);
  CHECK(d.post("/admin/projects/sync", world::admin, json::object{}).status == 422);
}

TEST_CASE(
    "bad bodies: 400 malformed, 415 wrong type, 413 too large, 422 invalid — nothing written") {
  daemon d([](config& c) { c.max_json_body_bytes = 4096; });
  world w(d);
  const auto before = snapshot(d);
  auto malformed = d.call({"POST", "/requests", world::r1, "{\"title\": ", "application/json"});
  CHECK(malformed.status == 400);
  CHECK(malformed.detail().find("not valid JSON") != std::string::npos);
  auto wrong_type = d.call({"POST", "/requests", world::r1, "{}", "text/plain"});
  CHECK(wrong_type.status == 415);
  auto too_big = d.call({"POST", "/requests", world::r1,
                         "{\"title\":\"" + std::string(5000, 'x') + "\"}", "application/json"});
  CHECK(too_big.status == 413);
  auto array = d.call({"POST", "/requests", world::r1, "[1,2]", "application/json"});
  CHECK(array.status == 422);
  const std::vector<std::pair<json::object, std::string>> invalid{
      {{{"direction", "egress"}, {"title", "t"}}, "project_id"},
      {{{"project_id", 42}, {"direction", "egress"}, {"title", "t"}}, "project_id"},
      {{{"project_id", "not-a-uuid"}, {"direction", "egress"}, {"title", "t"}}, "project_id"},
      {{{"project_id", w.project_id}, {"direction", "sideways"}, {"title", "t"}}, "direction"},
      {{{"project_id", w.project_id}, {"direction", "egress"}, {"title", true}}, "title"},
      {{{"project_id", w.project_id}, {"direction", "egress"}, {"title", ""}}, "title"},
      {{{"project_id", w.project_id}, {"direction", "egress"}, {"title", "t"}, {"extra", 1}},
       "extra"},
  };
  for (const auto& [body, field] : invalid) {
    auto r = d.post("/requests", world::r1, body);
    CHECK_MESSAGE(r.status == 422, json::serialize(body));
    CHECK_MESSAGE(r.detail().find(field) != std::string::npos, r.body);
  }
  auto unknown_project = d.post(
      "/requests", world::r1,
      json::object{
          {"project_id", trevor::uuid::v7().str()}, {"direction", "egress"}, {"title", "t"}});
  CHECK(unknown_project.status == 404);
  auto checker_creates =
      d.post("/requests", world::c1,
             json::object{{"project_id", w.project_id}, {"direction", "egress"}, {"title", "t"}});
  CHECK(checker_creates.status == 403);
  CHECK(snapshot(d) == before);
}

TEST_CASE("path ids: a non-UUID is 422, an unknown or invisible request 404") {
  daemon d;
  world w(d);
  const auto id = w.draft();
  for (const auto& path :
       {"/requests/123", "/requests/123/objects", "/requests/x/reviews", "/requests/x/audit"}) {
    auto r = d.get(path, world::r1);
    CHECK_MESSAGE(r.status == 422, path);
    CHECK(r.detail().find("request_id") != std::string::npos);
  }
  CHECK(d.get("/requests/" + id + "/objects/zzz", world::r1).status == 422);
  CHECK(d.get("/requests/" + trevor::uuid::v7().str(), world::r1).status == 404);
  CHECK(d.get("/requests/" + id, world::outsider).status == 404);
  CHECK(d.post("/requests/" + id + "/submit", world::outsider).status == 404);
  CHECK(d.get("/requests/" + id + "/objects/" + trevor::uuid::v7().str(), world::r1).status == 404);
  CHECK(d.patch("/notifications/not-an-id/read", world::r1, json::object{}).status == 422);
}

TEST_CASE("uploads: content types, missing parts, field order, sizes — a refusal stores nothing") {
  daemon d([](config& c) { c.max_upload_bytes = 1024; });
  world w(d);
  const auto id = w.draft();
  const std::string target = "/requests/" + id + "/objects";
  const auto before = snapshot(d);
  const std::string boundary = "b0undary";
  const auto form = "multipart/form-data; boundary=" + boundary;

  auto json_type = d.call({"POST", target, world::r1, "{}", "application/json"});
  CHECK(json_type.status == 415);
  auto no_boundary = d.call({"POST", target, world::r1, "x", "multipart/form-data"});
  CHECK(no_boundary.status == 400);
  auto no_file = d.call(
      {"POST", target, world::r1,
       "--" + boundary + "\r\nContent-Disposition: form-data; name=\"statbarn\"\r\n\r\nx\r\n--" +
           boundary + "--\r\n",
       form});
  CHECK(no_file.status == 422);
  CHECK(no_file.detail().find("file") != std::string::npos);
  auto garbage = d.call({"POST", target, world::r1, "this is not multipart", form});
  CHECK(garbage.status == 400);
  const std::string typed = "--" + boundary +
                            "\r\nContent-Disposition: form-data; name=\"output_type\"\r\n\r\n"
                            "tabular\r\n";
  auto truncated =
      d.call({"POST", target, world::r1,
              typed + "--" + boundary +
                  "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc",
              form});
  CHECK(truncated.status == 400);
  // A field after the file part comes too late and fails the upload.
  auto late = d.call({"POST", target, world::r1,
                      typed + "--" + boundary +
                          "\r\nContent-Disposition: form-data; name=\"file\"; "
                          "filename=\"a.csv\"\r\n\r\nabc\r\n--" +
                          boundary +
                          "\r\nContent-Disposition: form-data; name=\"statbarn\"\r\n\r\nx\r\n--" +
                          boundary + "--\r\n",
                      form});
  CHECK(late.status == 422);
  CHECK(late.detail().find("statbarn") != std::string::npos);
  auto bad_type =
      d.call({"POST", target, world::r1,
              multipart(boundary, {{"output_type", "spreadsheet"}}, "a.csv", "x"), form});
  CHECK(bad_type.status == 422);
  CHECK(bad_type.detail().find("tabular") != std::string::npos);
  auto unknown_field = d.call(
      {"POST", target, world::r1, multipart(boundary, {{"colour", "red"}}, "a.csv", "x"), form});
  CHECK(unknown_field.status == 422);
  auto too_big = d.call(
      {"POST", target, world::r1,
       multipart(boundary, {{"output_type", "other"}}, "big.bin", std::string(2000, 'z')), form});
  CHECK(too_big.status == 413);
  {
    // Announced too large: refused before the body is sent.
    http_client c(d.port());
    c.write_raw("POST " + target +
                "?filename=a.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dev:r1\r\n"
                "Content-Type: application/octet-stream\r\nExpect: 100-continue\r\n"
                "Content-Length: 3145728\r\n\r\n");
    auto raw_too_big = c.read_response();
    REQUIRE(raw_too_big.has_value());
    CHECK(raw_too_big->status == 413);
    CHECK(raw_too_big->body.find("TREVOR_MAX_UPLOAD_MB") != std::string::npos);
  }
  {
    // Sent anyway: the refusal still arrives (the server reads and drops the rest).
    http_client c(d.port());
    c.write_raw("POST " + target +
                "?filename=a.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dev:r1\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: 3145728\r\n\r\n");
    auto answer = c.read_response();
    REQUIRE(answer.has_value());
    CHECK(answer->status == 413);
  }
  auto raw_no_name = d.call({"POST", target, world::r1, "abc", "application/octet-stream"});
  CHECK(raw_no_name.status == 422);
  auto traversal =
      d.call({"POST", target + "?filename=..", world::r1, "abc", "application/octet-stream"});
  CHECK(traversal.status == 422);
  auto checker = d.call({"POST", target + "?filename=a.csv&output_type=tabular", world::c1, "abc",
                         "application/octet-stream"});
  CHECK(checker.status == 403);
  CHECK(snapshot(d) == before);
  // Nothing was left in the blob store either.
  std::size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(d.cfg().storage_dir))
    files += e.is_regular_file() ? 1u : 0u;
  CHECK(files == 0);
  // And the connection-level refusals did not break the server.
  CHECK(d.get("/health", "").status == 200);
}

TEST_CASE("uploads stream with Expect: 100-continue and chunked bodies") {
  daemon d;
  world w(d);
  const auto id = w.draft();
  http_client c(d.port());
  const std::string body(300 * 1024, 'q');
  c.write_raw("POST /requests/" + id +
              "/objects?filename=big.bin&output_type=other HTTP/1.1\r\nHost: x\r\nAuthorization: "
              "Bearer dev:r1\r\n"
              "Content-Type: application/octet-stream\r\nExpect: 100-continue\r\n"
              "Transfer-Encoding: chunked\r\n\r\n");
  auto interim = c.read_response();
  REQUIRE(interim.has_value());
  CHECK(interim->status == 100);
  for (std::size_t at = 0; at < body.size(); at += 100 * 1024) {
    const auto piece = body.substr(at, 100 * 1024);
    c.write_raw(fmt::format("{:x}\r\n", piece.size()) + piece + "\r\n");
  }
  c.write_raw("0\r\n\r\n");
  auto res = c.read_response();
  REQUIRE(res.has_value());
  REQUIRE(res->status == 201);
  CHECK(json::parse(res->body).at("size_bytes").as_int64() == 300 * 1024);
  // The connection stays usable.
  auto next = c.send({"GET", "/requests/" + id, "dev:r1", "", ""});
  CHECK(next.status == 200);
}

TEST_CASE(
    "metadata: GET, PATCH with lock_version, 409 on a stale version, 422 on forbidden fields") {
  daemon d;
  world w(d);
  const auto id = w.draft();
  const auto oid = str(w.upload(id, "x"), "id");
  const auto target = "/requests/" + id + "/objects/" + oid + "/metadata";
  auto meta = d.get(target, world::r1).json();
  const auto version = meta.at("lock_version").as_int64();
  auto patched = d.patch(
      target, world::r1,
      json::object{
          {"lock_version", version}, {"title", "New title"}, {"tags", json::object{{"k", "v"}}}});
  REQUIRE(patched.status == 200);
  CHECK(str(patched.json(), "title") == "New title");
  CHECK(patched.json().at("tags").at("k").as_string() == "v");
  CHECK(patched.json().at("lock_version").as_int64() == version + 1);
  auto stale = d.patch(target, world::r1, json::object{{"lock_version", version}, {"title", "x"}});
  CHECK(stale.status == 409);
  auto feedback =
      d.patch(target, world::r1,
              json::object{{"lock_version", version + 1}, {"checker_feedback", json::array{}}});
  CHECK(feedback.status == 422);
  CHECK(feedback.detail().find("checker_feedback") != std::string::npos);
  CHECK(d.patch(target, world::r1, json::object{{"lock_version", version + 1}, {"colour", "x"}})
            .status == 422);
  CHECK(d.patch(target, world::r1, json::object{{"lock_version", "1"}}).status == 422);
  CHECK(d.patch(target, world::c1, json::object{{"lock_version", version + 1}, {"title", "x"}})
            .status == 403);
  CHECK(
      d.patch(target, world::outsider, json::object{{"lock_version", 1}, {"title", "x"}}).status ==
      404);
}

TEST_CASE("changes requested, replace, versions, resubmit, withdraw") {
  daemon d;
  world w(d);
  const auto id = w.submitted();
  const auto oid = str(d.get("/requests/" + id + "/objects", world::r1).json().as_array()[0], "id");
  REQUIRE(d.post("/requests/" + id + "/reviews", world::c1,
                 json::object{{"decision", "changes_requested"},
                              {"summary", "suppress small cells"},
                              {"object_decisions",
                               json::array{json::object{{"object_id", oid},
                                                        {"decision", "changes_requested"},
                                                        {"feedback", "cells < 10"}}}}})
              .status == 201);
  REQUIRE(d.post("/requests/" + id + "/reviews", world::c2, json::object{{"decision", "approved"}})
              .status == 201);
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "CHANGES_REQUESTED");
  CHECK(d.post("/requests/" + id + "/resubmit", world::r1).status == 422);  // object still to fix

  const std::string boundary = "rep";
  auto replaced = d.call({"POST", "/requests/" + id + "/objects/" + oid + "/replace", world::r1,
                          multipart(boundary, {{"output_type", "tabular"}}, "table.csv", "fixed"),
                          "multipart/form-data; boundary=" + boundary});
  REQUIRE(replaced.status == 201);
  CHECK(replaced.json().at("version").as_int64() == 2);
  CHECK(str(replaced.json(), "replaces_id") == oid);
  auto versions = d.get("/requests/" + id + "/objects/" + oid + "/versions", world::c1).json();
  REQUIRE(versions.as_array().size() == 2);
  CHECK(str(versions.as_array()[0], "state") == "SUPERSEDED");
  CHECK(d.get("/requests/" + id + "/objects", world::r1).json().as_array().size() == 1);
  CHECK(d.get("/requests/" + id + "/objects?include_superseded=true", world::r1)
            .json()
            .as_array()
            .size() == 2);
  auto again = d.post("/requests/" + id + "/resubmit", world::r1);
  REQUIRE(again.status == 200);
  CHECK(again.json().at("review_round").as_int64() == 2);
  CHECK(d.post("/requests/" + id + "/withdraw", world::r1).status == 409);

  const auto other = w.draft("to withdraw");
  CHECK(d.post("/requests/" + other + "/withdraw", world::c1).status == 403);
  auto withdrawn = d.post("/requests/" + other + "/withdraw", world::r1);
  CHECK(withdrawn.status == 200);
  CHECK(str(withdrawn.json(), "status") == "WITHDRAWN");
}

TEST_CASE("reviews: who may review, bad decisions, a second review by the same checker") {
  daemon d;
  world w(d);
  const auto id = w.submitted();
  const auto target = "/requests/" + id + "/reviews";
  CHECK(d.post(target, world::r1, json::object{{"decision", "approved"}}).status == 403);
  CHECK(d.post(target, world::outsider, json::object{{"decision", "approved"}}).status == 404);
  auto bad = d.post(target, world::c1, json::object{{"decision", "maybe"}});
  CHECK(bad.status == 422);
  CHECK(bad.detail().find("changes_requested") != std::string::npos);
  auto bad_item = d.post(
      target, world::c1,
      json::object{{"decision", "approved"},
                   {"object_decisions",
                    json::array{json::object{{"object_id", "nope"}, {"decision", "approved"}}}}});
  CHECK(bad_item.status == 422);
  CHECK(bad_item.detail().find("object_decisions[0].object_id") != std::string::npos);
  CHECK(d.post(target, world::c1, json::object{{"decision", "approved"}}).status == 201);
  CHECK(d.post(target, world::c1, json::object{{"decision", "approved"}}).status == 409);
  CHECK(d.get(target + "/" + trevor::uuid::v7().str(), world::c1).status == 404);
  // The agent endpoint is the agent's only.
  CHECK(
      d.post("/requests/" + id + "/agent-review", world::c2, json::object{{"decision", "approved"}})
          .status == 403);
}

TEST_CASE("the agent's service account records the agent review (TREVOR_AGENT_REVIEW=external)") {
  daemon d([](config& c) { c.agent_review = true; });
  world w(d);
  const auto id = w.submitted();
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "SUBMITTED");
  const std::string agent = "dev:rule-engine:trevor_agent";
  CHECK(d.get("/requests/" + id, agent).status == 200);  // it reads what it reviews
  auto bad = d.post("/requests/" + id + "/agent-review", agent,
                    json::object{{"decision", "approved"}, {"findings", "none"}});
  CHECK(bad.status == 422);
  auto r = d.post("/requests/" + id + "/agent-review", agent,
                  json::object{{"decision", "approved"},
                               {"summary", "no disclosure risk found"},
                               {"findings", json::array{json::object{{"rule", "min-cell"}}}}});
  REQUIRE(r.status == 201);
  CHECK(str(r.json(), "reviewer_type") == "agent");
  CHECK(r.json().at("reviewer_id").is_null());
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "HUMAN_REVIEW");
  CHECK(d.post("/requests/" + id + "/agent-review", agent, json::object{{"decision", "approved"}})
            .status == 409);
}

TEST_CASE("the agent never vetoes over HTTP: its advice against, then the checkers' approvals") {
  daemon d([](config& c) {
    c.agent_review = true;
    c.required_reviews = 3;  // the agent and two checkers
  });
  world w(d);
  const std::string agent = "dev:rule-engine:trevor_agent";
  for (const std::string advice : {"changes_requested", "rejected"}) {
    CAPTURE(advice);
    const auto id = w.submitted();
    auto a = d.post("/requests/" + id + "/agent-review", agent,
                    json::object{{"decision", advice}, {"summary", "small cells"}});
    REQUIRE(a.status == 201);
    CHECK(str(a.json(), "decision") == advice);
    CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "HUMAN_REVIEW");
    for (const char* checker : {world::c1, world::c2})
      REQUIRE(d.post("/requests/" + id + "/reviews", checker,
                     json::object{{"decision", "approved"}, {"summary", "fine"}})
                  .status == 201);
    const auto r = d.get("/requests/" + id, world::r1).json();
    CHECK(str(r, "status") == "APPROVED");
    for (const auto& o : r.at("objects").as_array()) CHECK(str(o, "state") == "APPROVED");
  }
}

TEST_CASE("escalation over HTTP: after the agent escalates only a senior checker reviews") {
  daemon d([](config& c) { c.agent_review = true; });
  world w(d);
  const auto id = w.submitted();
  auto a = d.post("/requests/" + id + "/agent-review", "dev:rule-engine:trevor_agent",
                  json::object{{"decision", "escalated"}, {"summary", "needs a senior look"}});
  REQUIRE(a.status == 201);
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "HUMAN_REVIEW");
  const auto target = "/requests/" + id + "/reviews";
  for (const char* checker : {world::c1, world::c2}) {
    auto refused = d.post(target, checker, json::object{{"decision", "approved"}});
    REQUIRE(refused.status == 403);
    CHECK(refused.detail().find("senior") != std::string::npos);
  }
  CHECK(d.get(target, world::r1).json().as_array().size() == 1);  // the agent's alone
  auto senior = d.post(target, world::s1, json::object{{"decision", "approved"}});
  CHECK(senior.status == 201);
  const auto r = d.get("/requests/" + id, world::r1).json();
  CHECK(str(r, "status") == "APPROVED");
  for (const auto& o : r.at("objects").as_array()) CHECK(str(o, "state") == "APPROVED");
}

TEST_CASE("notifications: list, cursor, unread count, mark read, others' rows are 404") {
  daemon d;
  world w(d);
  w.submitted();
  w.submitted();
  auto list = d.get("/notifications?limit=1", world::c1);
  REQUIRE(list.status == 200);
  REQUIRE(list.json().as_array().size() == 1);
  const auto first = str(list.json().as_array()[0], "id");
  auto next = d.get("/notifications?limit=5&before=" + first, world::c1).json().as_array();
  CHECK(next.size() == 1);
  CHECK(str(next[0], "id") != first);
  CHECK(d.get("/notifications/unread-count", world::c1).json().at("count").as_int64() == 2);
  CHECK(d.patch("/notifications/" + first + "/read", world::c2, json::object{}).status == 404);
  auto read = d.call({"PATCH", "/notifications/" + first + "/read", world::c1, "", ""});
  CHECK(read.status == 200);
  CHECK(read.json().at("read").as_bool());
  CHECK(d.get("/notifications?unread_only=true", world::c1).json().as_array().size() == 1);
  CHECK(d.post("/notifications/mark-all-read", world::c1).status == 204);
  CHECK(d.get("/notifications/unread-count", world::c1).json().at("count").as_int64() == 0);
  CHECK(d.get("/notifications?limit=0", world::c1).status == 422);
  CHECK(d.get("/notifications?limit=101", world::c1).status == 422);
  CHECK(d.get("/notifications?unread_only=maybe", world::c1).status == 422);
}

TEST_CASE("/metrics: counts by route and status, latency histogram, pool and requests by status") {
  daemon d;
  world w(d);
  w.draft();
  d.get("/nope", "dev:r1");
  // A request is counted once its answer is written, which the client may
  // see first: wait (briefly) until the last one is in.
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text = d.get("/metrics", "").body;
    if (text.find(R"(route="unmatched")") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(
      text.find(R"(trevord_http_requests_total{method="POST",route="/requests",status="201"} 1)") !=
      std::string::npos);
  CHECK(text.find(R"(route="unmatched",status="404")") != std::string::npos);
  CHECK(
      text.find("trevord_http_request_duration_seconds_bucket{method=\"POST\",route=\"/requests\","
                "status=\"201\",le=\"+Inf\"} 1") != std::string::npos);
  CHECK(text.find("trevord_db_pool_connections 4") != std::string::npos);
  // Every write so far on SQLite went through the group commit (mostly as
  // groups of one here); PostgreSQL has none.
  const auto counter = [&](std::string_view name) {
    const auto at = text.find(fmt::format("\n{} ", name));
    REQUIRE(at != std::string::npos);
    return std::stoll(text.substr(at + name.size() + 2));
  };
  if (trevor::test::on_postgres()) {
    CHECK(counter("trevord_db_group_commits_total") == 0);
    CHECK(counter("trevord_db_grouped_writes_total") == 0);
  } else {
    CHECK(counter("trevord_db_group_commits_total") > 0);
    CHECK(counter("trevord_db_grouped_writes_total") >= counter("trevord_db_group_commits_total"));
  }
  CHECK(text.find(R"(trevor_airlock_requests{status="DRAFT"} 1)") != std::string::npos);
  CHECK(text.find(R"(trevor_airlock_requests{status="APPROVED"} 0)") != std::string::npos);
}

TEST_CASE("a deactivated user is refused everything") {
  // Every authenticated route, called with well-formed parameters and body by
  // a deactivated researcher and a deactivated tre_admin (whose role would
  // otherwise open almost every route): 403, and nothing written. The one
  // exception is GET /users/me, which shows the caller their own row saying
  // they are deactivated.
  daemon d;
  world w(d);
  const auto id = w.draft();
  const auto oid = str(w.upload(id, "a,b\n1,2\n"), "id");
  const auto me = d.get("/users/me", world::r1).json();
  REQUIRE(!me.at("memberships").as_array().empty());
  const auto membership = str(me.at("memberships").as_array()[0], "id");
  const std::string admin2 = "dev:admin2:tre_admin";
  REQUIRE(d.get("/users/me", admin2).status == 200);
  d.database().exec(
      "UPDATE users SET active = " + std::string(trevor::test::on_postgres() ? "false" : "0") +
      " WHERE username IN ('r1', 'admin2')");
  const auto lock_version = d.get("/requests/" + id + "/objects/" + oid + "/metadata", world::admin)
                                .json()
                                .at("lock_version")
                                .as_int64();

  const std::map<std::string, std::string> params{{"request_id", id},
                                                  {"object_id", oid},
                                                  {"project_id", w.project_id},
                                                  {"membership_id", membership},
                                                  {"review_id", trevor::uuid::v7().str()},
                                                  {"notification_id", trevor::uuid::v7().str()}};
  // What each route with a body or required parameters is sent: a valid
  // request for an active user with the right role.
  struct call_shape {
    std::string query, body, content_type;
  };
  const auto as_json = [](const json::value& v) {
    return call_shape{"", json::serialize(v), "application/json"};
  };
  const call_shape upload{"?filename=new.csv&output_type=tabular", "x,y\n",
                          "application/octet-stream"};
  const std::map<std::string, call_shape> shapes{
      {"POST /admin/projects/sync",
       as_json(json::object{
           {"projects", json::array{json::object{{"id", w.project_id}, {"name", "proj"}}}}})},
      {"POST /memberships", as_json(json::object{{"user_id", w.user_ids.at("outsider")},
                                                 {"project_id", w.project_id},
                                                 {"role", "researcher"}})},
      {"POST /requests",
       as_json(
           json::object{{"project_id", w.project_id}, {"direction", "egress"}, {"title", "t"}})},
      {"GET /users", {"?username=r1", "", ""}},
      {"POST /requests/{request_id}/objects", upload},
      {"POST /requests/{request_id}/objects/{object_id}/replace", upload},
      {"PATCH /requests/{request_id}/objects/{object_id}/metadata",
       as_json(json::object{{"lock_version", lock_version}, {"title", "new"}})},
      {"POST /requests/{request_id}/reviews", as_json(json::object{{"decision", "approved"}})},
      {"POST /requests/{request_id}/agent-review", as_json(json::object{{"decision", "approved"}})},
      {"POST /requests/{request_id}/slots", as_json(json::object{{"filename", "s.csv"}})},
      {"POST /requests/{request_id}/revoke", as_json(json::object{{"reason", "a leak"}})},
  };

  const auto tables = [&] {
    std::vector<long long> n;
    for (const char* t : {"airlock_requests", "output_objects", "output_object_metadata", "reviews",
                          "notifications", "audit_events", "project_memberships", "projects"})
      n.push_back(d.database().count(std::string("SELECT count(*) FROM ") + t));
    return n;
  };
  const auto before = tables();
  std::size_t checked = 0;
  for (const auto& r : routes()) {
    if (!r.authenticated) continue;
    const std::string method(boost::beast::http::to_string(r.method));
    const std::string name = method + " " + std::string(r.pattern);
    std::string target(r.pattern);
    for (std::size_t open; (open = target.find('{')) != std::string::npos;) {
      const auto close = target.find('}', open);
      const auto param = target.substr(open + 1, close - open - 1);
      REQUIRE_MESSAGE(params.count(param) == 1, "no value for {" << param << "} in " << name);
      target.replace(open, close - open + 1, params.at(param));
    }
    const auto shape = shapes.count(name) ? shapes.at(name) : call_shape{};
    for (const auto& token : {std::string(world::r1), admin2}) {
      auto res = d.call({method, target + shape.query, token, shape.body, shape.content_type});
      ++checked;
      if (name == "GET /users/me") {
        CHECK(res.status == 200);
        CHECK_FALSE(res.json().at("active").as_bool());
        continue;
      }
      CHECK_MESSAGE(res.status == 403,
                    token << " " << name << " → " << res.status << " " << res.body);
    }
  }
  CHECK(checked >= 2 * 40);
  CHECK(tables() == before);
}

}  // namespace trevord::test

namespace trevord::test {

TEST_CASE("/admin/audit: tre_admin only, filters, keyset pages, bad parameters are 422") {
  daemon d;
  world w(d);
  const auto a = w.draft("first");
  const auto b = w.draft("second");
  CHECK(d.get("/admin/audit", world::r1).status == 403);
  CHECK(d.get("/admin/audit", "").status == 401);
  auto all = d.get("/admin/audit?event_type=request.&limit=1", world::admin);
  REQUIRE(all.status == 200);
  auto page = all.json();
  REQUIRE(page.at("items").as_array().size() == 1);
  CHECK(page.at("items").as_array()[0].at("request_id").as_string() == b);  // newest first
  const std::string cursor(page.at("next_cursor").as_string());
  auto next =
      d.get("/admin/audit?event_type=request.&limit=1&cursor=" + cursor, world::admin).json();
  CHECK(next.at("items").as_array()[0].at("request_id").as_string() == a);
  CHECK(next.at("next_cursor").is_null());
  auto one = d.get("/admin/audit?request_id=" + a, world::admin).json();
  CHECK(one.at("items").as_array().size() == 1);
  auto by_actor = d.get("/admin/audit?actor_id=" + w.user_ids["r1"] + "&project_id=" + w.project_id,
                        world::admin)
                      .json();
  CHECK(by_actor.at("items").as_array().size() == 2);
  CHECK(d.get("/admin/audit?since=2999-01-01T00:00:00Z", world::admin)
            .json()
            .at("items")
            .as_array()
            .empty());
  for (const auto& bad : {"limit=0", "limit=501", "since=yesterday", "request_id=x",
                          "cursor=garbage", "event_type=REQUEST%25"}) {
    auto r = d.get(std::string("/admin/audit?") + bad, world::admin);
    CHECK_MESSAGE(r.status == 422, bad << " → " << r.status << " " << r.body);
  }
}

TEST_CASE("/admin/audit/export: CSV of every matching event, tre_admin only") {
  daemon d;
  world w(d);
  w.draft("=1+2, \"quoted\"");
  auto r = d.get("/admin/audit/export?event_type=request.", world::admin);
  REQUIRE(r.status == 200);
  CHECK(r.headers.at("content-type") == "text/csv; charset=utf-8");
  // Spooled, then sent with its length (off the database workers).
  CHECK(r.headers.at("content-length") == std::to_string(r.body.size()));
  CHECK(r.headers.count("transfer-encoding") == 0);
  CHECK(r.headers.at("content-disposition").find("audit.csv") != std::string::npos);
  CHECK(r.body.rfind("id,timestamp,event_type,actor_id,request_id,payload\r\n", 0) == 0);
  CHECK(r.body.find("request.created") != std::string::npos);
  CHECK(r.body.find("membership.created") == std::string::npos);  // filtered out
  CHECK(r.body.find("\"\"=1+2, \\\"\"quoted\\\"\"\"\"") != std::string::npos);
  // A cell that starts with an embedder's text (the actor) is neutralised.
  trevor::audit_log(d.database().db())
      .append({"=cmd|' /C calc'!A0", "embedder.note", std::nullopt, std::nullopt, "{}"});
  auto hostile = d.get("/admin/audit/export?event_type=embedder.", world::admin);
  REQUIRE(hostile.status == 200);
  CHECK(hostile.body.find(",'=cmd|' /C calc'!A0,") != std::string::npos);
  CHECK(hostile.body.find(",=cmd") == std::string::npos);
  CHECK(d.get("/admin/audit/export", world::c1).status == 403);
  CHECK(d.get("/admin/audit/export?until=never", world::admin).status == 422);
}

}  // namespace trevord::test

namespace trevord::test {

TEST_CASE(
    "dashboard endpoints: overview, metrics, checkers, projects; tre_admin or a senior checker") {
  daemon d;
  world w(d);
  w.draft("still a draft");
  const auto id = w.submitted();
  for (const char* who : {world::c1, world::c2})
    REQUIRE(d.post("/requests/" + id + "/reviews", who,
                   json::object{{"decision", "approved"}, {"summary", "fine"}})
                .status == 201);
  const auto waiting = w.submitted();

  for (const char* path :
       {"/admin/requests", "/admin/metrics", "/admin/checkers", "/admin/projects"}) {
    CAPTURE(path);
    CHECK(d.get(path, "").status == 401);
    CHECK(d.get(path, world::r1).status == 403);
    CHECK(d.get(path, world::c1).status == 403);  // an output checker, not a senior one
    CHECK(d.get(path, world::outsider).status == 403);
    CHECK(d.get(path, world::s1).status == 200);
    const auto r = d.get(path, world::admin);
    REQUIRE(r.status == 200);
    CHECK(r.headers.at("content-type") == "application/json");
    // Fractions are written as plain decimals, not in exponent form.
    CHECK(r.body.find("E0") == std::string::npos);
  }

  auto overview = d.get("/admin/requests", world::admin).json();
  CHECK(overview.at("total").as_int64() == 2);  // the draft is not listed
  const auto& items = overview.at("items").as_array();
  REQUIRE(items.size() == 2);
  CHECK(str(items[0], "id") == waiting);  // most recently changed first
  CHECK(str(items[1], "id") == id);
  CHECK(str(items[1], "status") == "APPROVED");
  CHECK(str(items[1], "submitted_by") == w.user_ids["r1"]);
  CHECK(str(items[1], "submitted_by_name") == "r1");
  CHECK(str(items[1], "project_id") == w.project_id);
  CHECK(items[1].at("object_count").as_int64() == 1);
  CHECK(items[1].at("age_hours").is_number());
  CHECK(items[1].at("submitted_at").is_string());
  auto approved =
      d.get("/admin/requests?status=APPROVED,RELEASED&sort=created_at&limit=1", world::admin)
          .json();
  CHECK(approved.at("total").as_int64() == 1);
  CHECK(str(approved.at("items").as_array()[0], "id") == id);
  CHECK(d.get("/admin/requests?offset=1&limit=1", world::admin)
            .json()
            .at("items")
            .as_array()
            .size() == 1);
  for (const auto& bad : {"status=DRAFT", "status=SUBMITTED,bogus", "sort=title", "limit=0",
                          "limit=101", "offset=-1", "direction=sideways", "project_id=x"}) {
    auto r = d.get(std::string("/admin/requests?") + bad, world::admin);
    CHECK_MESSAGE(r.status == 422, bad << " → " << r.status << " " << r.body);
  }

  auto m = d.get("/admin/metrics", world::admin).json();
  CHECK(m.at("total_requests").as_int64() == 3);
  CHECK(m.at("by_status").at("DRAFT").as_int64() == 1);
  CHECK(m.at("by_status").at("APPROVED").as_int64() == 1);
  CHECK(m.at("by_status").at("HUMAN_REVIEW").as_int64() == 1);
  CHECK(m.at("by_status").at("REJECTED").as_int64() == 0);
  CHECK(m.at("by_direction").at("egress").as_int64() == 3);
  CHECK(m.at("approval_rate").to_number<double>() == 1.0);
  CHECK(m.at("rejection_rate").to_number<double>() == 0.0);
  CHECK(m.at("median_hours_to_decision").is_number());
  CHECK(m.at("hours_in_state").at("AGENT_REVIEW").at("median").is_null());
  CHECK(m.at("hours_in_state").at("DRAFT").at("median").is_number());
  CHECK(m.at("stuck_requests").as_array().empty());  // 72 h have not passed
  auto empty =
      d.get("/admin/metrics?since=2999-01-01T00:00:00Z&until=2999-02-01T00:00:00Z", world::admin)
          .json();
  CHECK(empty.at("total_requests").as_int64() == 0);
  CHECK(empty.at("approval_rate").is_null());
  CHECK(empty.at("median_hours_to_first_review").is_null());
  CHECK(d.get("/admin/metrics?since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z", world::admin)
            .status == 422);
  CHECK(d.get("/admin/metrics?until=soon", world::admin).status == 422);

  auto checkers = d.get("/admin/checkers", world::s1).json();
  CHECK(checkers.at("total").as_int64() == 2);
  for (const auto& c : checkers.at("items").as_array()) {
    CHECK(c.at("reviews").as_int64() == 1);
    CHECK(c.at("approved").as_int64() == 1);
    CHECK(c.at("median_turnaround_hours").is_number());
    CHECK(c.at("accepted_agent_findings_share").is_null());
  }

  auto projects = d.get("/admin/projects", world::admin).json();
  REQUIRE(projects.at("total").as_int64() == 1);
  const auto& p = projects.at("items").as_array()[0];
  CHECK(str(p, "project_id") == w.project_id);
  CHECK(p.at("by_status").at("APPROVED").as_int64() == 1);
  CHECK(p.at("objects_submitted").as_int64() == 2);
  CHECK(p.at("objects_approved").as_int64() == 1);
  CHECK(p.at("releases").as_int64() == 0);
  CHECK(d.get("/admin/projects?project_id=" + std::string(trevor::uuid::v7().str()), world::s1)
            .status == 403);
}

}  // namespace trevord::test

namespace trevord::test {

TEST_CASE("GET /requests pages: a bare array, X-Next-Cursor and a Link to the next page") {
  daemon d;
  world w(d);
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i) made.push_back(w.draft());
  auto first = d.get("/requests?limit=2", world::r1);
  REQUIRE(first.status == 200);
  REQUIRE(first.json().is_array());
  CHECK(first.json().as_array().size() == 2);
  REQUIRE(first.headers.count("x-next-cursor"));
  REQUIRE(first.headers.count("link"));
  const auto& link = first.headers.at("link");
  const auto lt = link.find('<'), gt = link.find('>');
  REQUIRE(lt != std::string::npos);
  REQUIRE(gt != std::string::npos);
  CHECK(link.substr(gt) == ">; rel=\"next\"");
  std::vector<std::string> seen;
  const auto first_items = first.json();
  for (const auto& r : first_items.as_array()) seen.push_back(str(r, "id"));
  std::string next = link.substr(lt + 1, gt - lt - 1);
  while (!next.empty()) {
    auto page = d.get(next, world::r1);
    REQUIRE(page.status == 200);
    const auto items = page.json();
    for (const auto& r : items.as_array()) seen.push_back(str(r, "id"));
    next.clear();
    if (page.headers.count("link")) {
      const auto& l = page.headers.at("link");
      next = l.substr(l.find('<') + 1, l.find('>') - l.find('<') - 1);
    } else {
      CHECK_FALSE(page.headers.count("x-next-cursor"));
    }
  }
  REQUIRE(seen.size() == 5);
  CHECK(seen.front() == made.back());  // newest first
  // Without a limit, the default page holds them all and no next link.
  auto all = d.get("/requests", world::r1);
  CHECK(all.json().as_array().size() == 5);
  CHECK_FALSE(all.headers.count("link"));
  // Bad values name the parameter.
  auto zero = d.get("/requests?limit=0", world::r1);
  CHECK(zero.status == 422);
  CHECK(zero.detail().find("limit") != std::string::npos);
  auto bad = d.get("/requests?cursor=nonsense", world::r1);
  CHECK(bad.status == 422);
  CHECK(bad.detail().find("cursor") != std::string::npos);
}

}  // namespace trevord::test
