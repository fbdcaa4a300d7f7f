#pragma once
// Catalogue questions whose SQL differs per engine (internal).

#include <string>

#include "db/connection.hpp"

namespace trevor::detail {

/// True when a table of that name exists in the connection's current schema.
bool table_exists(connection& c, const std::string& name);

}  // namespace trevor::detail
