#include "config.hpp"

#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "trevor/error.hpp"

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
  return c;
}

}  // namespace trevord
