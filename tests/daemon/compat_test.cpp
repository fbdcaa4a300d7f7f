// What clients of the service trevor replaces rely on, and what a first user
// and operator meet: status codes of unmet preconditions, required upload
// fields, metadata patches without lock_version, text limits in characters,
// plain JSON decimals, dates as window bounds, log levels and configuration
// errors reported all at once. Over HTTP on the engine under test, plus the
// daemon's pure parts.
#include <map>
#include <string>

#include <boost/json.hpp>

#include "api/json_io.hpp"
#include "daemon/config.hpp"
#include "harness.hpp"
#include "trevor/error.hpp"

namespace trevord::test {

namespace json = boost::json;
using world = project_world;

namespace {

std::string repeat(std::string_view unit, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += unit;
  return s;
}

json::array objects_of(daemon& d, const std::string& id) {
  return d.get("/requests/" + id + "/objects", world::r1).json().as_array();
}

}  // namespace

TEST_CASE("submit and resubmit: unmet preconditions are 422, a wrong status 409") {
  daemon d;
  world w(d);
  const auto empty = w.draft("Nothing in it");
  auto r = d.post("/requests/" + empty + "/submit", world::r1);
  CHECK(r.status == 422);
  CHECK(r.detail() == "submit: the request has no objects");
  CHECK(d.post("/requests/" + empty + "/resubmit", world::r1).status == 409);  // from DRAFT

  const auto id = w.submitted();
  CHECK(d.post("/requests/" + id + "/submit", world::r1).status == 409);  // twice
  // c1 asks for changes but approves the only object; c2 approves: the round
  // closes CHANGES_REQUESTED with no object PENDING or CHANGES_REQUESTED.
  const auto oid = str(objects_of(d, id)[0], "id");
  REQUIRE(d.post("/requests/" + id + "/reviews", world::c1,
                 json::object{
                     {"decision", "changes_requested"},
                     {"summary", "the description is thin"},
                     {"object_decisions",
                      json::array{json::object{{"object_id", oid}, {"decision", "approved"}}}}})
              .status == 201);
  REQUIRE(d.post("/requests/" + id + "/reviews", world::c2, json::object{{"decision", "approved"}})
              .status == 201);
  REQUIRE(str(d.get("/requests/" + id, world::r1).json(), "status") == "CHANGES_REQUESTED");
  r = d.post("/requests/" + id + "/resubmit", world::r1);
  CHECK(r.status == 422);
  CHECK(r.detail() == "resubmit: no object is PENDING; replace an object first");
  CHECK(str(d.get("/requests/" + id, world::r1).json(), "status") == "CHANGES_REQUESTED");
}

TEST_CASE("uploads and replacements: output_type is required, in either body form") {
  daemon d;
  world w(d);
  const auto id = w.draft();
  const auto oid = str(w.upload(id, "a,b\n1,2\n"), "id");
  const std::string boundary = "bnd";
  const std::string form = "multipart/form-data; boundary=" + boundary;

  auto check_refused = [&](const http_response& r) {
    CHECK(r.status == 422);
    CHECK(r.detail().starts_with("output_type: required"));
    CHECK(objects_of(d, id).size() == 1);
  };
  check_refused(d.call({"POST", "/requests/" + id + "/objects", world::r1,
                        multipart(boundary, {{"statbarn", "frequency"}}, "t.csv", "x"), form}));
  check_refused(d.call({"POST", "/requests/" + id + "/objects?filename=t.csv", world::r1, "x",
                        "application/octet-stream"}));
  check_refused(d.call({"POST", "/requests/" + id + "/objects/" + oid + "/replace", world::r1,
                        multipart(boundary, {}, "t2.csv", "y"), form}));
  check_refused(d.call({"POST", "/requests/" + id + "/objects/" + oid + "/replace?filename=t2.csv",
                        world::r1, "y", "application/octet-stream"}));
  // Given, it is stored as given.
  auto ok = d.call({"POST", "/requests/" + id + "/objects?filename=t.csv&output_type=code",
                    world::r1, "x", "application/octet-stream"});
  REQUIRE(ok.status == 201);
  CHECK(str(ok.json(), "output_type") == "code");
}

TEST_CASE("metadata: lock_version is optional; every other refusal stands without it") {
  daemon d;
  world w(d);
  const auto id = w.draft();
  const auto oid = str(w.upload(id, "a,b\n1,2\n"), "id");
  const auto target = "/requests/" + id + "/objects/" + oid + "/metadata";
  const auto v1 = d.get(target, world::r1).json().at("lock_version").as_int64();

  auto patched = d.patch(target, world::r1, json::object{{"title", "No version sent"}});
  REQUIRE_MESSAGE(patched.status == 200, patched.body);
  CHECK(patched.json().at("lock_version").as_int64() == v1 + 1);
  CHECK(str(patched.json(), "title") == "No version sent");
  const auto trail = d.get("/requests/" + id + "/audit", world::r1).json().as_array();
  CHECK(str(trail.back(), "event_type") == "object.metadata_updated");
  // With it, stale: 409 as before.
  CHECK(d.patch(target, world::r1, json::object{{"lock_version", v1}, {"title", "x"}}).status ==
        409);

  const json::object title{{"title", "x"}};
  CHECK(d.patch(target, world::c1, title).status == 403);
  CHECK(d.patch(target, world::outsider, title).status == 404);
  CHECK(d.patch(target, world::r1, json::object{{"colour", "x"}}).status == 422);
  CHECK(d.patch(target, world::r1, json::object{{"checker_feedback", json::array{}}}).status ==
        422);
  REQUIRE(d.post("/requests/" + id + "/submit", world::r1).status == 200);
  CHECK(d.patch(target, world::r1, title).status == 409);  // in review
  CHECK(d.get(target, world::r1).json().at("lock_version").as_int64() == v1 + 1);
}

TEST_CASE("text limits are characters: 300 Greek or Chinese characters make a title") {
  daemon d;
  world w(d);
  for (const std::string_view unit : {"\u03A9", "\u7EDF"}) {
    CAPTURE(unit);
    auto at_limit = d.post(
        "/requests", world::r1,
        json::object{
            {"project_id", w.project_id}, {"direction", "egress"}, {"title", repeat(unit, 300)}});
    REQUIRE_MESSAGE(at_limit.status == 201, at_limit.body);
    CHECK(str(at_limit.json(), "title") == repeat(unit, 300));
    auto past = d.post(
        "/requests", world::r1,
        json::object{
            {"project_id", w.project_id}, {"direction", "egress"}, {"title", repeat(unit, 301)}});
    CHECK(past.status == 422);
    CHECK(past.detail() == "title: longer than 300 characters");
  }
  // A file name of 255 three-byte characters, and metadata text at its limit.
  const auto id = w.draft();
  const auto name = repeat("\u7EDF", 251) + ".csv";
  const auto up = d.call(
      {"POST", "/requests/" + id + "/objects", world::r1,
       multipart(
           "b", {{"output_type", "tabular"}, {"researcher_justification", repeat("\u03A9", 20000)}},
           name, "x"),
       "multipart/form-data; boundary=b"});
  REQUIRE_MESSAGE(up.status == 201, up.body);
  CHECK(str(up.json(), "filename") == name);
}

TEST_CASE("admin windows: plain dates, and since in the future is the empty window") {
  daemon d;
  world w(d);
  w.submitted();
  auto day = d.get("/admin/metrics?since=2026-01-01&until=2026-01-02", world::admin);
  REQUIRE_MESSAGE(day.status == 200, day.body);
  CHECK(str(day.json(), "since").starts_with("2026-01-01T00:00:00"));
  CHECK(str(day.json(), "until").starts_with("2026-01-02T00:00:00"));
  CHECK(d.get("/admin/audit?since=2026-01-01", world::admin).status == 200);
  CHECK(d.get("/admin/checkers?until=2999-12-31", world::admin).status == 200);
  CHECK(d.get("/admin/projects?since=2026-01-01", world::admin).status == 200);
  auto bad = d.get("/admin/audit?since=2026-02-30", world::admin);
  CHECK(bad.status == 422);
  CHECK(bad.detail().find("since") != std::string::npos);
  CHECK(d.get("/admin/metrics?since=2026-1-1", world::admin).status == 422);

  auto future = d.get("/admin/metrics?since=2999-01-01", world::admin);
  REQUIRE_MESSAGE(future.status == 200, future.body);
  const auto m = future.json();
  CHECK(m.at("total_requests").as_int64() == 0);
  CHECK(m.at("approval_rate").is_null());
  CHECK(m.at("median_hours_to_decision").is_null());
  CHECK(str(m, "since") == str(m, "until"));
  // Everything the fixture did is before it: counts are all zero.
  for (const auto& [status, n] : m.at("by_status").as_object()) CHECK(n.as_int64() == 0);
  CHECK(d.get("/admin/metrics?since=2999-01-02&until=2999-01-01", world::admin).status == 422);
}

TEST_CASE("JSON numbers are plain decimals, rounded to what they mean") {
  CHECK(plain_decimal(7.361111111111111e-06) == "0.000007361111111111111");
  CHECK(plain_decimal(7e-06) == "0.000007");
  CHECK(plain_decimal(-2.5e-07) == "-0.00000025");
  CHECK(plain_decimal(1.5e+17) == "150000000000000000");
  CHECK(plain_decimal(1e+21) == "1000000000000000000000");
  CHECK(plain_decimal(0.25) == "0.25");
  CHECK(plain_decimal(149) == "149");
  CHECK(plain_decimal(-0.0) == "-0");
  CHECK(to_text(json::object{{"x", 7.361111111111111e-06}}) == R"({"x":0.000007361111111111111})");
  // The metrics' own rounding: hours to 6 places, rates to 4.
  trevor::pipeline_metrics m;
  m.approval_rate = 2.0 / 3;
  m.hours_to_decision.median = 7.361111111111111e-06;
  m.hours_to_first_review.p90 = 1.0 / 3;
  const auto text = to_text(to_json(m));
  CHECK(text.find(R"("approval_rate":0.6667)") != std::string::npos);
  CHECK(text.find(R"("median_hours_to_decision":0.000007,)") != std::string::npos);
  CHECK(text.find(R"("p90_hours_to_first_review":0.333333,)") != std::string::npos);
  CHECK(text.find("e-0") == std::string::npos);  // no exponent anywhere
  CHECK(text.find("e+") == std::string::npos);
}

TEST_CASE("configuration: log levels in any case; every problem reported in one run") {
  auto load = [](const std::map<std::string, std::string>& vars, bool serve) {
    return config_from(vars, serve);
  };
  for (const char* spelling : {"warn", "WARN", "Warning", "warning"})
    CHECK(load({{"TREVOR_LOG_LEVEL", spelling}}, false).log_level == "warning");
  CHECK(load({{"TREVOR_LOG_LEVEL", "DEBUG"}}, false).log_level == "debug");

  std::string message;
  try {
    load({{"TREVOR_ENV", "production"},
          {"TREVOR_DEV_AUTH_BYPASS", "true"},
          {"TREVOR_PORT", "http"},
          {"TREVOR_LOG_LEVEL", "verbose"},
          {"TREVOR_JWKS_URL", "ftp://idp/certs"}},
         true);
  } catch (const trevor::error& e) {
    message = e.what();
  }
  std::vector<std::string> lines;
  for (std::size_t at = 0; at <= message.size();) {
    const auto nl = std::min(message.find('\n', at), message.size());
    lines.push_back(message.substr(at, nl - at));
    at = nl + 1;
  }
  CAPTURE(message);
  const std::vector<std::string> expected{
      "DATABASE_URL is required when TREVOR_ENV=production",
      "TREVOR_DEV_AUTH_BYPASS=true is refused when TREVOR_ENV=production",
      "TREVOR_PORT: 'http' is not a whole number from 0 to 65535",
      "TREVOR_LOG_LEVEL: 'verbose' is not one of debug, info, warning (or warn), error",
      "TREVOR_JWKS_URL: 'ftp://idp/certs' is not an http:// or https:// URL",
      "TREVOR_OIDC_ISSUER: not set; it is required with a JWKS (tokens' iss is checked)",
      "TREVOR_OIDC_AUDIENCE: not set; it is required with a JWKS (tokens' aud is checked)",
      "TREVOR_LINK_SECRET: not set; set it to at least 32 bytes, the same on every daemon "
      "(download and upload links are signed with it)",
      "TREVOR_AUDIT_SIGNING_KEY: not set; set it to the file of the audit trail's signer key "
      "(`trevord audit keygen` writes one); without it no checkpoint is signed"};
  CHECK(lines == expected);
  CHECK(message.find("''") == std::string::npos);
}

}  // namespace trevord::test
