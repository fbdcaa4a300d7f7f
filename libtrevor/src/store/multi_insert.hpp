#pragma once
// Multi-row INSERT statements (internal): n rows, one round trip.

#include <string>
#include <string_view>
#include <vector>

#include <soci/soci.h>

#include "db/connection.hpp"
#include "db/dialect.hpp"
#include "db/rows.hpp"

namespace trevor::detail {

/// "INSERT INTO table (columns) VALUES (row), (row), ..." with `rows` copies
/// of `row`, a tuple in which each '$' stands for the next parameter (casts
/// around them as needed), expanded for the engine.
std::string multi_row_insert(std::string_view head, std::string_view row, std::size_t rows,
                             engine e);

/// Binds values in placeholder order and executes once on destruction, as a
/// one-time statement (a single round trip on PostgreSQL). The bound values
/// must outlive the object.
class bound_statement {
 public:
  bound_statement(connection& c, const std::string& sql) : once_(c.sql << sql) {}
  void bind(std::string& v) { once_, soci::use(v, none()); }
  void bind(nullable_text& v) { once_, soci::use(v.value, v.ind, none()); }

 private:
  static const std::string& none() {
    static const std::string empty;
    return empty;
  }
  soci::details::once_temp_type once_;
};

/// Up to this many rows, a multi-row INSERT is prepared once per connection
/// and row count; larger ones are one-time statements.
inline constexpr std::size_t max_prepared_insert_rows = 16;

/// Runs `head` VALUES `row` x rows (see multi_row_insert) with `values`
/// (rows x parameters per row, in placeholder order; NULL where the
/// indicator says so). `head` and `row` must be string literals.
void execute_multi_insert(connection& c, const char* head, const char* row, std::size_t rows,
                          std::vector<nullable_text>& values);

}  // namespace trevor::detail
