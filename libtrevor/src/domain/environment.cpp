#include "trevor/environment.hpp"

#include <vector>

#include <fmt/format.h>

#include "trevor/database_url.hpp"
#include "trevor/error.hpp"

namespace trevor {

std::string_view to_string(environment e) noexcept {
  switch (e) {
    case environment::development: return "development";
    case environment::test: return "test";
    case environment::staging: return "staging";
    case environment::production: return "production";
  }
  return "development";
}

environment parse_environment(std::optional<std::string_view> value) {
  if (!value || value->empty()) return environment::development;
  for (auto e :
       {environment::development, environment::test, environment::staging, environment::production})
    if (*value == to_string(e)) return e;
  throw error(errc::invalid_argument,
              fmt::format("TREVOR_ENV: unknown environment '{}' (expected development, test, "
                          "staging or production)",
                          *value));
}

std::string check_environment(environment env, std::optional<std::string_view> database_url,
                              bool dev_auth_bypass) {
  const bool dev = is_dev_like(env);
  std::vector<std::string> problems;
  if (!database_url || database_url->empty()) {
    if (!dev)
      problems.push_back(
          fmt::format("DATABASE_URL is required when TREVOR_ENV={}", to_string(env)));
    database_url = default_dev_database_url;
  } else {
    try {
      const auto url = parse_database_url(*database_url);
      if (!dev && url.kind == engine::sqlite)
        problems.push_back(
            fmt::format("DATABASE_URL: SQLite is for development and test only; "
                        "TREVOR_ENV={} needs PostgreSQL",
                        to_string(env)));
    } catch (const error& e) {
      problems.emplace_back(e.what());
    }
  }
  if (!dev && dev_auth_bypass)
    problems.push_back(
        fmt::format("TREVOR_DEV_AUTH_BYPASS=true is refused when TREVOR_ENV={}", to_string(env)));
  if (!problems.empty()) {
    std::string text;
    for (const auto& p : problems) text += (text.empty() ? "" : "\n") + p;
    throw error(errc::invalid_argument, text);
  }
  return std::string(*database_url);
}

}  // namespace trevor
