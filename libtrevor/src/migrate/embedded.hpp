#pragma once
// The migrations of schema/, embedded at build time (cmake/EmbedSchema.cmake).

#include <string_view>
#include <vector>

namespace trevor::detail {

struct embedded_migration {
  int id;
  std::string_view name;
  std::string_view text;  // the file, byte for byte
};

const std::vector<embedded_migration>& embedded_migrations();

}  // namespace trevor::detail
