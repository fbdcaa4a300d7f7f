#include "trevor/error.hpp"

#include <fmt/format.h>

#include "trevor/enums.hpp"

namespace trevor {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::not_found: return "not_found";
    case errc::forbidden: return "forbidden";
    case errc::conflict: return "conflict";
    case errc::invalid_transition: return "invalid_transition";
    case errc::invalid_argument: return "invalid_argument";
    case errc::unavailable: return "unavailable";
    case errc::internal: return "internal";
  }
  return "internal";
}

namespace detail {
void throw_bad_enum(std::string_view what, std::string_view text, const std::string_view* names,
                    std::size_t count) {
  std::string allowed;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) allowed += ", ";
    allowed += names[i];
  }
  throw error(errc::invalid_argument,
              fmt::format("unknown {} '{}' (expected one of: {})", what, text, allowed));
}
}  // namespace detail

}  // namespace trevor
