#pragma once
// Text checks an embedding program needs before it hands text to the library
// (the library's own checks use the same validator).

#include <string_view>

#include "trevor/export.hpp"

namespace trevor {

/// True when `text` is valid UTF-8: no overlong forms, no UTF-16 surrogates,
/// no code points past U+10FFFF, no truncated sequence.
TREVOR_EXPORT bool valid_utf8(std::string_view text) noexcept;

}  // namespace trevor
