#include "api/call.hpp"

#include <fmt/format.h>

#include "api/json_io.hpp"

namespace trevord {

trevor::uuid call::id(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return parse_id(name, v);
  throw http_error(http::status::internal_server_error, fmt::format("no path parameter {}", name));
}

std::optional<std::string> call::query_value(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return std::nullopt;
}

std::optional<trevor::uuid> call::query_id(std::string_view name) const {
  auto v = query_value(name);
  if (!v) return std::nullopt;
  return parse_id(name, *v);
}

std::optional<long long> call::query_integer(std::string_view name, long long lo,
                                             long long hi) const {
  auto v = query_value(name);
  if (!v) return std::nullopt;
  const bool digits =
      !v->empty() && v->size() <= 18 && v->find_first_not_of("0123456789") == std::string::npos;
  const long long n = digits ? std::stoll(*v) : -1;
  if (!digits || n < lo || n > hi)
    throw http_error(http::status::unprocessable_entity,
                     fmt::format("{}: '{}' is not a whole number from {} to {}", name, *v, lo, hi));
  return n;
}

std::optional<bool> call::query_bool(std::string_view name) const {
  auto v = query_value(name);
  if (!v) return std::nullopt;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  throw http_error(http::status::unprocessable_entity,
                   fmt::format("{}: '{}' is not true or false", name, *v));
}

}  // namespace trevord
