#include "config.hpp"

#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "trevor/error.hpp"
#include "trevor/signed_link.hpp"

namespace trevord {
namespace {

[[noreturn]] void bad(const char* name, const std::string& value, std::string_view expected) {
  throw trevor::error(trevor::errc::invalid_argument,
                      fmt::format("{}: '{}' is not {}", name, value, expected));
}

unsigned long parse_number(const char* name, const std::string& v, unsigned long lo,
                           unsigned long hi) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9)
    bad(name, v, fmt::format("a whole number from {} to {}", lo, hi));
  const unsigned long n = std::stoul(v);
  if (n < lo || n > hi) bad(name, v, fmt::format("a whole number from {} to {}", lo, hi));
  return n;
}

bool parse_bool(const char* name, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  bad(name, v, "true or false");
}

}  // namespace

void check_serve_config(const config& c) {
  if (!c.jwt_configured() && !c.dev_auth_bypass && !trevor::is_dev_like(c.env))
    bad("TREVOR_JWKS_FILE", "", "set (or TREVOR_JWKS_URL): without keys nobody can sign in");
  if (c.link_secret.empty() && !trevor::is_dev_like(c.env))
    bad("TREVOR_LINK_SECRET", "",
        "set (at least 32 bytes, the same on every daemon): download and upload links are "
        "signed with it");
}

std::optional<std::string> process_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

config load_config(const std::function<std::optional<std::string>(const char*)>& getenv) {
  config c;
  const auto env_value = getenv("TREVOR_ENV");
  c.env = trevor::parse_environment(env_value ? std::optional<std::string_view>(*env_value)
                                              : std::nullopt);
  if (auto v = getenv("TREVOR_DEV_AUTH_BYPASS"))
    c.dev_auth_bypass = parse_bool("TREVOR_DEV_AUTH_BYPASS", *v);
  const auto url = getenv("DATABASE_URL");
  c.database_url = trevor::check_environment(
      c.env, url ? std::optional<std::string_view>(*url) : std::nullopt, c.dev_auth_bypass);
  if (auto v = getenv("TREVOR_HOST")) {
    if (v->empty()) bad("TREVOR_HOST", *v, "a host name or address");
    c.host = *v;
  }
  if (auto v = getenv("TREVOR_PORT"))
    c.port = static_cast<std::uint16_t>(parse_number("TREVOR_PORT", *v, 0, 65535));
  c.threads = std::max(1u, std::thread::hardware_concurrency());
  if (auto v = getenv("TREVOR_THREADS"))
    c.threads = static_cast<unsigned>(parse_number("TREVOR_THREADS", *v, 1, 256));
  if (auto v = getenv("TREVOR_DB_POOL_SIZE"))
    c.db_pool_size = parse_number("TREVOR_DB_POOL_SIZE", *v, 1, 1000);
  c.auto_migrate = trevor::is_dev_like(c.env);
  if (auto v = getenv("TREVOR_AUTO_MIGRATE"))
    c.auto_migrate = parse_bool("TREVOR_AUTO_MIGRATE", *v);
  if (auto v = getenv("TREVOR_LOG_LEVEL")) {
    if (*v != "debug" && *v != "info" && *v != "warning" && *v != "error")
      bad("TREVOR_LOG_LEVEL", *v, "one of debug, info, warning, error");
    c.log_level = *v;
  }
  if (auto v = getenv("TREVOR_DRAIN_SECONDS"))
    c.drain_timeout = std::chrono::seconds(parse_number("TREVOR_DRAIN_SECONDS", *v, 0, 3600));

  if (auto v = getenv("TREVOR_OIDC_ISSUER")) c.oidc_issuer = *v;
  if (auto v = getenv("TREVOR_OIDC_AUDIENCE")) c.oidc_audience = *v;
  if (auto v = getenv("TREVOR_JWKS_FILE")) c.jwks_file = *v;
  if (auto v = getenv("TREVOR_JWKS_URL")) c.jwks_url = *v;
  if (!c.jwks_file.empty() && !c.jwks_url.empty())
    bad("TREVOR_JWKS_URL", c.jwks_url, "usable together with TREVOR_JWKS_FILE (set one)");
  if (!c.jwks_url.empty() && c.jwks_url.rfind("http://", 0) != 0 &&
      c.jwks_url.rfind("https://", 0) != 0)
    bad("TREVOR_JWKS_URL", c.jwks_url, "an http:// or https:// URL");
  if (c.jwt_configured()) {
    if (c.oidc_issuer.empty())
      bad("TREVOR_OIDC_ISSUER", "", "set (it is required with a JWKS: tokens' iss is checked)");
    if (c.oidc_audience.empty())
      bad("TREVOR_OIDC_AUDIENCE", "", "set (it is required with a JWKS: tokens' aud is checked)");
  }

  if (auto v = getenv("TREVOR_REQUIRED_REVIEWS"))
    c.required_reviews = static_cast<int>(parse_number("TREVOR_REQUIRED_REVIEWS", *v, 2, 20));
  if (auto v = getenv("TREVOR_AGENT_REVIEW")) {
    if (*v == "off")
      c.agent_review = false;
    else if (*v == "external")
      c.agent_review = true;
    else
      bad("TREVOR_AGENT_REVIEW", *v, "off or external");
  }
  if (auto v = getenv("TREVOR_STUCK_HOURS"))
    c.stuck_hours = static_cast<long>(parse_number("TREVOR_STUCK_HOURS", *v, 0, 100000));
  if (auto v = getenv("TREVOR_MAX_UPLOAD_MB"))
    c.max_upload_bytes =
        static_cast<std::int64_t>(parse_number("TREVOR_MAX_UPLOAD_MB", *v, 1, 1024 * 1024)) * 1024 *
        1024;
  if (auto v = getenv("TREVOR_STORAGE_DIR")) {
    if (v->empty()) bad("TREVOR_STORAGE_DIR", *v, "a directory");
    c.storage_dir = *v;
  }
  if (auto v = getenv("TREVOR_LINK_SECRET")) {
    if (v->size() < trevor::min_link_secret_bytes)
      bad("TREVOR_LINK_SECRET", "(hidden)",
          fmt::format("at least {} bytes long", trevor::min_link_secret_bytes));
    c.link_secret = *v;
  }
  c.public_url = fmt::format("http://{}:{}", c.host, c.port);
  if (auto v = getenv("TREVOR_PUBLIC_URL")) {
    if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0)
      bad("TREVOR_PUBLIC_URL", *v, "an http:// or https:// URL");
    c.public_url = *v;
  }
  if (auto v = getenv("TREVOR_RELEASE_LICENSE")) {
    const auto first = v->find_first_not_of(" \t\r\n");
    const auto last = v->find_last_not_of(" \t\r\n");
    c.release_license = first == std::string::npos ? "" : v->substr(first, last - first + 1);
  }
  // Link lifetimes, the warning before expiry, the release timeout, the sweep period.
  const struct {
    const char* name;
    long& field;
    unsigned long lo, hi;
  } durations[] = {{"TREVOR_RELEASE_LINK_HOURS", c.release_link_hours, 1, 8760},
                   {"TREVOR_DELIVERY_LINK_HOURS", c.delivery_link_hours, 1, 8760},
                   {"TREVOR_UPLOAD_LINK_HOURS", c.upload_link_hours, 1, 8760},
                   {"TREVOR_LINK_WARNING_HOURS", c.link_warning_hours, 0, 8760},
                   {"TREVOR_RELEASE_TIMEOUT_MINUTES", c.release_timeout_minutes, 1, 10080},
                   {"TREVOR_SWEEP_SECONDS", c.sweep_seconds, 0, 86400}};
  for (const auto& d : durations)
    if (auto v = getenv(d.name)) d.field = static_cast<long>(parse_number(d.name, *v, d.lo, d.hi));
  if (auto v = getenv("TREVOR_LOG_FORMAT"); v && *v != "json")
    bad("TREVOR_LOG_FORMAT", *v, "json (the only format)");

  if (auto v = getenv("TREVOR_MAX_HEADER_KB"))
    c.max_header_bytes =
        static_cast<std::uint32_t>(parse_number("TREVOR_MAX_HEADER_KB", *v, 1, 1024) * 1024);
  if (auto v = getenv("TREVOR_MAX_JSON_KB"))
    c.max_json_body_bytes = parse_number("TREVOR_MAX_JSON_KB", *v, 1, 64 * 1024) * 1024;
  if (auto v = getenv("TREVOR_READ_TIMEOUT_SECONDS"))
    c.read_timeout = std::chrono::seconds(parse_number("TREVOR_READ_TIMEOUT_SECONDS", *v, 1, 3600));
  if (auto v = getenv("TREVOR_WRITE_TIMEOUT_SECONDS"))
    c.write_timeout =
        std::chrono::seconds(parse_number("TREVOR_WRITE_TIMEOUT_SECONDS", *v, 1, 3600));
  if (auto v = getenv("TREVOR_IDLE_TIMEOUT_SECONDS"))
    c.idle_timeout = std::chrono::seconds(parse_number("TREVOR_IDLE_TIMEOUT_SECONDS", *v, 1, 3600));
  if (auto v = getenv("TREVOR_MAX_IN_FLIGHT"))
    c.max_in_flight = parse_number("TREVOR_MAX_IN_FLIGHT", *v, 1, 1000000);
  return c;
}

}  // namespace trevord
