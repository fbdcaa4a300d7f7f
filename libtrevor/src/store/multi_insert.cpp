#include "store/multi_insert.hpp"

#include <fmt/format.h>

namespace trevor::detail {

std::string multi_row_insert(std::string_view head, std::string_view row, std::size_t rows,
                             engine e) {
  std::string sql(head);
  sql += " VALUES ";
  std::size_t n = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    if (i) sql += ", ";
    for (char c : row) {
      if (c == '$')
        sql += fmt::format(":v{}", n++);  // distinct names: SQLite merges equal ones
      else
        sql.push_back(c);
    }
  }
  return expand_sql(sql, e);
}

}  // namespace trevor::detail
