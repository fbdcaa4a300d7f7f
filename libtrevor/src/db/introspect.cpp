#include "db/introspect.hpp"

namespace trevor::detail {

bool table_exists(connection& c, const std::string& name) {
  long long n = 0;
  if (c.kind() == engine::sqlite)
    c.sql << "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = :n",
        soci::use(name), soci::into(n);
  else
    c.sql << "SELECT count(*) FROM information_schema.tables "
             "WHERE table_schema = current_schema() AND table_name = :n",
        soci::use(name), soci::into(n);
  return n > 0;
}

}  // namespace trevor::detail
