#include "trevor/actor.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "trevor/error.hpp"

namespace trevor {

namespace {
constexpr std::size_t max_agent_name = 128;
}

agent_credential::agent_credential(std::string_view name) : name_(name) {
  const bool printable =
      std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (name.empty() || name.size() > max_agent_name || !printable)
    throw error(errc::invalid_argument,
                fmt::format("agent: a name is 1 to {} printable ASCII characters without spaces",
                            max_agent_name));
}

}  // namespace trevor
