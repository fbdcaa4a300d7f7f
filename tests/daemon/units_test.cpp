// trevord's parts without a server: the multipart reader, configuration.
#include <map>

#include "daemon/config.hpp"
#include "harness.hpp"
#include "http/http_error.hpp"
#include "http/multipart.hpp"

namespace trevord::test {

namespace {
/// A source handing out `body` in pieces of `step` bytes.
multipart_reader::source chunks(const std::string& body, std::size_t step) {
  auto at = std::make_shared<std::size_t>(0);
  return [body, step, at](char* buf, std::size_t cap) {
    const auto n = std::min({step, cap, body.size() - *at});
    std::copy_n(body.data() + *at, n, buf);
    *at += n;
    return n;
  };
}
}  // namespace

TEST_CASE("multipart: parts and file bytes survive any chunking, including boundary look-alikes") {
  const std::string boundary = "----trevorB0undary";
  const std::string tricky =
      "line\r\n------trevorB0undar\r\n--" + boundary.substr(0, 10) + "\r\n\r\nend\r\n-";
  const auto body =
      "preamble\r\n" +
      multipart(boundary, {{"output_type", "tabular"}, {"title", "T \"q\""}}, "data.bin", tricky);
  for (std::size_t step : {1u, 2u, 3u, 7u, 19u, 64u, 100000u}) {
    multipart_reader r(boundary, chunks(body, step));
    std::map<std::string, std::string> fields;
    std::string file, filename;
    while (auto p = r.next()) {
      if (p->filename) {
        filename = *p->filename;
        char buf[5];
        while (auto n = r.read(buf, sizeof buf)) file.append(buf, n);
      } else {
        fields[p->name] = r.read_all(p->name, 1000);
      }
    }
    CHECK_MESSAGE(file == tricky, "step " << step);
    CHECK(filename == "data.bin");
    CHECK(fields["output_type"] == "tabular");
    CHECK(fields["title"] == "T \"q\"");
  }
}

TEST_CASE("multipart: malformed bodies are 400, an over-long field 422") {
  const std::string b = "bnd";
  auto status_of_body = [&](const std::string& body) {
    try {
      multipart_reader r(b, chunks(body, 5));
      while (auto p = r.next()) r.read_all(p->name, 10);
      return 0u;
    } catch (const http_error& e) {
      return static_cast<unsigned>(e.status());
    }
  };
  CHECK(status_of_body("") == 400);
  CHECK(status_of_body("--bnd\r\n\r\nx\r\n--bnd--") == 400);  // no Content-Disposition
  CHECK(status_of_body(
            "--bnd\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--bnd--") == 400);
  CHECK(status_of_body("--bnd\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx") == 400);
  CHECK(status_of_body("--bnd\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" +
                       std::string(20, 'x') + "\r\n--bnd--") == 422);
  CHECK(status_of_body(
            "--bnd\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nok\r\n--bnd--") == 0);
  CHECK(multipart_reader::boundary_of("multipart/form-data; boundary=abc") == "abc");
  CHECK(multipart_reader::boundary_of("Multipart/Form-Data; charset=x; boundary=\"a b\"") == "a b");
  CHECK(multipart_reader::boundary_of("multipart/form-data") == "");
  CHECK_FALSE(multipart_reader::boundary_of("application/json").has_value());
}

TEST_CASE("configuration: names the variable and what it should be") {
  auto load = [](std::map<std::string, std::string> vars) {
    return load_config([vars](const char* name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    });
  };
  auto message = [&](std::map<std::string, std::string> vars) {
    try {
      load(std::move(vars));
      return std::string();
    } catch (const trevor::error& e) {
      return std::string(e.what());
    }
  };
  const auto c = load({});
  CHECK(c.required_reviews == 2);
  CHECK(c.max_upload_bytes == 500ll * 1024 * 1024);
  CHECK(c.max_json_body_bytes == 1024 * 1024);
  CHECK(c.max_header_bytes == 16 * 1024);
  CHECK_FALSE(c.agent_review);
  CHECK(c.release_license.empty());
  CHECK(load({{"TREVOR_RELEASE_LICENSE", " https://example.org/licence \n"}}).release_license ==
        "https://example.org/licence");
  CHECK(load({{"TREVOR_AGENT_REVIEW", "external"}}).agent_review);
  CHECK(message({{"TREVOR_AGENT_REVIEW", "on"}}).find("off or external") != std::string::npos);
  CHECK(message({{"TREVOR_REQUIRED_REVIEWS", "1"}}).find("TREVOR_REQUIRED_REVIEWS") !=
        std::string::npos);
  CHECK(load({{"TREVOR_MAX_UPLOAD_MB", "2"}}).max_upload_bytes == 2 * 1024 * 1024);
  CHECK(message({{"TREVOR_JWKS_FILE", "/x"}}).find("TREVOR_OIDC_ISSUER") != std::string::npos);
  CHECK(message({{"TREVOR_JWKS_FILE", "/x"}, {"TREVOR_JWKS_URL", "https://x"}})
            .find("TREVOR_JWKS_URL") != std::string::npos);
  CHECK(message({{"TREVOR_JWKS_URL", "ftp://x"},
                 {"TREVOR_OIDC_ISSUER", "i"},
                 {"TREVOR_OIDC_AUDIENCE", "a"}})
            .find("http") != std::string::npos);
  // Production: no bypass, and keys are required.
  const std::map<std::string, std::string> prod{{"TREVOR_ENV", "production"},
                                                {"DATABASE_URL", "postgresql://h/db"}};
  auto with = [&](std::map<std::string, std::string> extra) {
    auto v = prod;
    v.insert(extra.begin(), extra.end());
    return v;
  };
  CHECK(message(with({{"TREVOR_DEV_AUTH_BYPASS", "true"}})).find("TREVOR_DEV_AUTH_BYPASS") !=
        std::string::npos);
  // The migrate commands need no keys; serving does.
  CHECK(message(prod).empty());
  std::string serve_error;
  try {
    check_serve_config(load(prod));
  } catch (const trevor::error& e) {
    serve_error = e.what();
  }
  CHECK(serve_error.find("TREVOR_JWKS_FILE") != std::string::npos);
  CHECK_NOTHROW(check_serve_config(load({})));  // development: the bypass or nobody
  CHECK(message(with({{"TREVOR_JWKS_URL", "https://kc/certs"},
                      {"TREVOR_OIDC_ISSUER", "https://kc"},
                      {"TREVOR_OIDC_AUDIENCE", "trevor"}}))
            .empty());
}

}  // namespace trevord::test
