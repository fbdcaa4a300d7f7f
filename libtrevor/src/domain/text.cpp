#include "trevor/text.hpp"

#include "service/common.hpp"

namespace trevor {

bool valid_utf8(std::string_view text) noexcept {
  return detail::utf8_length(text).has_value();
}

}  // namespace trevor
