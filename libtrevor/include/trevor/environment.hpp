#pragma once
// TREVOR_ENV and the start-up rules that depend on it.

#include <optional>
#include <string>
#include <string_view>

#include "trevor/export.hpp"

namespace trevor {

enum class environment { development, test, staging, production };
TREVOR_EXPORT std::string_view to_string(environment e) noexcept;

/// Parses TREVOR_ENV; an unset or empty value means development.
/// Throws trevor::error(invalid_argument) for anything else it does not know.
TREVOR_EXPORT environment parse_environment(std::optional<std::string_view> value);

/// True for development and test: the environments where SQLite, the default
/// DATABASE_URL and the development authentication bypass are allowed.
constexpr bool is_dev_like(environment e) noexcept {
  return e == environment::development || e == environment::test;
}

/// The DATABASE_URL used when none is set in development and test.
inline constexpr std::string_view default_dev_database_url = "sqlite:///./trevor.db";

/// Applies the environment rules to a would-be configuration and returns the
/// DATABASE_URL to use. Outside development and test it refuses a missing
/// DATABASE_URL, a SQLite URL and the development authentication bypass; a
/// malformed DATABASE_URL anywhere. One trevor::error(invalid_argument) names
/// every problem found, one line each.
TREVOR_EXPORT std::string check_environment(environment env,
                                            std::optional<std::string_view> database_url,
                                            bool dev_auth_bypass);

}  // namespace trevor
