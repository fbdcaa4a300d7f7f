#pragma once
// trevord's configuration, read once from the environment at start-up.
// Every variable and its default is listed in README.md ("Configuration").

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "trevor/environment.hpp"

namespace trevord {

struct config {
  trevor::environment env = trevor::environment::development;
  std::string database_url;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  unsigned threads = 1;
  std::size_t db_pool_size = 8;
  bool auto_migrate = true;
  bool dev_auth_bypass = false;
  std::string log_level = "info";
  /// How long a drain (SIGTERM) waits for requests in flight.
  std::chrono::seconds drain_timeout{20};
};

/// Reads the configuration through `getenv` (injectable for tests).
/// Throws trevor::error(invalid_argument) with one line naming the variable.
config load_config(const std::function<std::optional<std::string>(const char*)>& getenv);

/// The process environment.
std::optional<std::string> process_env(const char* name);

}  // namespace trevord
