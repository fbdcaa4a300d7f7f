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

namespace {

struct prepared_insert final : cached_statement {
  std::vector<nullable_text> params;
  soci::statement st;
  prepared_insert(connection& c, const std::string& sql, std::size_t count)
      : params(count), st(c.sql) {
    static const std::string positional;
    st.alloc();
    for (auto& p : params) st.exchange(soci::use(p.value, p.ind, positional));
    st.prepare(sql);
    st.define_and_bind();
  }
};

}  // namespace

void execute_multi_insert(connection& c, const char* head, const char* row, std::size_t rows,
                          std::vector<nullable_text>& values) {
  if (rows == 0) return;
  if (rows > max_prepared_insert_rows) {
    bound_statement st(c, multi_row_insert(head, row, rows, c.kind()));
    for (auto& v : values) st.bind(v);
    return;  // executes as st goes
  }
  auto& p = c.cached_for<prepared_insert>(
      head,
      [&] {
        return std::make_unique<prepared_insert>(c, multi_row_insert(head, row, rows, c.kind()),
                                                 values.size());
      },
      rows);
  for (std::size_t i = 0; i < values.size(); ++i) {
    p.params[i].value.swap(values[i].value);
    p.params[i].ind = values[i].ind;
  }
  try {
    p.st.execute(true);
  } catch (...) {
    c.forget_cached<prepared_insert>(head, rows);
    throw;
  }
}

}  // namespace trevor::detail
