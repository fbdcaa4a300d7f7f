#pragma once
// Multi-row INSERT statements (internal): n rows, one round trip.

#include <optional>
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

namespace trevor::detail {

/// The writes of one transition (status change, review, object states, audit
/// events, notifications), collected and then run together: on PostgreSQL as
/// one statement — each write a data-modifying CTE, the final SELECT counting
/// what each changed and evaluating the guards — so one round trip; on
/// SQLite as one prepared statement each (no round trips to save there).
///
/// Texts must be string literals (they key the per-connection statement
/// cache); '$' stands for the next parameter, bound as text (cast in the
/// text where the column is not text). The CTEs of one statement run on one
/// snapshot and in no defined order: each write must stand on its own (the
/// audit events of a transition are one multi-row INSERT, so their sequence
/// numbers follow the order of the batch).
class write_chain {
 public:
  /// `head` VALUES `row` x rows, as execute_multi_insert().
  void insert(const char* head, const char* row, std::size_t rows,
              std::vector<nullable_text> values);
  /// A conditional write (UPDATE ... WHERE ...) that must change exactly
  /// `expect` rows; otherwise run() throws conflict with `what`.
  void update(const char* sql, std::vector<nullable_text> values, long long expect,
              std::string what);
  /// PostgreSQL only (SQLite's write transaction holds the database lock, so
  /// what it read is current): a scalar SELECT evaluated on the statement's
  /// snapshot, which must equal `expect`; otherwise run() throws a retryable
  /// conflict (the transaction runs again and reads afresh). For facts read
  /// in a locking statement, which may predate the transaction the lock
  /// waited for.
  void guard(const char* sql, std::vector<nullable_text> values, long long expect);

  bool empty() const noexcept { return steps_.empty(); }

  /// Runs every write. On PostgreSQL returns the transaction's time (now(),
  /// the default of every time column the writes fill); nullopt on SQLite
  /// and when there is nothing to write.
  std::optional<timestamp> run(connection& c);

 private:
  enum class kind { insert, update, guard };
  struct step {
    kind k;
    const char* head;
    const char* row;
    std::size_t rows;
    std::vector<nullable_text> values;
    long long expect;
    std::string what;
  };
  std::vector<step> steps_;
};

}  // namespace trevor::detail
