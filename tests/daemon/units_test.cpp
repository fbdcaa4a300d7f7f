// trevord's parts without a server: the multipart reader, configuration.
#include <fstream>
#include <map>

#include "daemon/config.hpp"
#include "daemon/services.hpp"
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
  auto load = [](const std::map<std::string, std::string>& vars) { return config_from(vars); };
  auto message = [](const std::map<std::string, std::string>& vars) {
    return config_refusal(vars);
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
  CHECK(message({{"TREVOR_AGENT_REVIEW", "on"}}).find("off, external or builtin") !=
        std::string::npos);
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

TEST_CASE("configuration: the built-in agent, its policy file, timeout and attempts") {
  trevor::test::temp_dir dir;
  auto load = [](const std::map<std::string, std::string>& vars) { return config_from(vars); };
  auto message = [](const std::map<std::string, std::string>& vars) {
    return config_refusal(vars);
  };
  auto write = [&](const std::string& name, const std::string& text) {
    const auto path = dir.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  };

  const auto defaults = load({});
  CHECK_FALSE(defaults.builtin_agent);
  CHECK(defaults.agent_timeout == std::chrono::seconds(300));
  CHECK(defaults.agent_max_attempts == 3);
  CHECK(defaults.sdc_policy.defaults() == trevor::sdc::policy{});
  const auto options = workflow_options_of(defaults);
  CHECK(options.agent_timeout == std::chrono::seconds(300));

  const auto builtin = load({{"TREVOR_AGENT_REVIEW", "builtin"}});
  CHECK(builtin.builtin_agent);
  CHECK(builtin.agent_review);  // submissions wait in SUBMITTED for it
  CHECK_FALSE(load({{"TREVOR_AGENT_REVIEW", "external"}}).builtin_agent);

  const auto yaml = write("policy.yaml", "threshold: 5\nprojects:\n  proj:\n    threshold: 20\n");
  const auto json_file = write("policy.json", R"({"threshold": 7, "round_base": 5})");
  const auto c = load({{"TREVOR_SDC_POLICY", yaml},
                       {"TREVOR_AGENT_TIMEOUT_SECONDS", "30"},
                       {"TREVOR_AGENT_MAX_ATTEMPTS", "5"}});
  CHECK(c.sdc_policy_file == yaml);
  CHECK(c.sdc_policy.defaults().threshold == 5);
  CHECK(c.sdc_policy.effective("", "proj").threshold == 20);
  CHECK(c.agent_timeout == std::chrono::seconds(30));
  CHECK(c.agent_max_attempts == 5);
  const auto o = workflow_options_of(c);
  CHECK(o.agent_timeout == std::chrono::seconds(30));
  CHECK(o.sdc_policy.effective("", "proj").threshold == 20);
  CHECK(load({{"TREVOR_SDC_POLICY", json_file}}).sdc_policy.defaults().round_base == 5);

  // Refused at start, one line naming the variable, the file and the key;
  // every other problem of the same start in the same message.
  const auto unknown = write("unknown.yaml", "threshold: 10\nthreshhold: 5\n");
  const auto wrong = write("wrong.json", R"({"zeros_are_disclosive": "yes"})");
  const auto m1 = message({{"TREVOR_SDC_POLICY", unknown}});
  CHECK(m1.find("TREVOR_SDC_POLICY: ") == 0);
  CHECK(m1.find(unknown) != std::string::npos);
  CHECK(m1.find("threshhold") != std::string::npos);
  CHECK(m1.find('\n') == std::string::npos);
  const auto m2 = message({{"TREVOR_SDC_POLICY", wrong}, {"TREVOR_AGENT_MAX_ATTEMPTS", "0"}});
  CHECK(m2.find("zeros_are_disclosive") != std::string::npos);
  CHECK(m2.find("TREVOR_AGENT_MAX_ATTEMPTS") != std::string::npos);
  CHECK(message({{"TREVOR_SDC_POLICY", dir.path() + "/missing.yaml"}}).find("cannot read") !=
        std::string::npos);
  CHECK(message({{"TREVOR_SDC_POLICY", ""}}).find("TREVOR_SDC_POLICY") != std::string::npos);
  CHECK(message({{"TREVOR_AGENT_TIMEOUT_SECONDS", "0"}}).find("TREVOR_AGENT_TIMEOUT_SECONDS") !=
        std::string::npos);
  CHECK(message({{"TREVOR_AGENT_MAX_ATTEMPTS", "x"}}).find("TREVOR_AGENT_MAX_ATTEMPTS") !=
        std::string::npos);
}

}  // namespace trevord::test
