#pragma once
// How the store writes SQL (internal): one idiom for every statement.
//
//  * Texts are `sql_text` values composed at compile time with `+` from
//    literals and named fragments, and kept in variables of static storage
//    duration (namespace scope, or `static constexpr` in a function). They
//    use dialect placeholders (db/dialect.hpp) and bound parameters only.
//  * A statement is `one_time(text)` or `prepared(text)` (prepared once per
//    connection and re-executed). Both are consteval and accept only texts
//    of static storage duration: the text's address keys the connection's
//    statement cache and the per-thread cache of expanded texts. On SQLite a
//    one-time statement is cached like a prepared one (for_each_row()).
//  * Every helper takes (connection, statement, reader, args...):
//    query_one, query_all; execute and query_count take no reader.
//  * A reader reads a row column after column through a row_reader
//    (db/rows.hpp). Each entity keeps its column list and its reader side by
//    side (e.g. `request_row` in store/requests.cpp); readers of wider rows
//    read the entity and go on with the next columns. The helpers check that
//    the reader consumed exactly the row's columns.
//  * Statements whose text depends on the call (optional filters) are built
//    with sql_builder, which binds the values it is given; the same helpers
//    run it.
//
// Binding rules that keep SOCI 4.0 safe:
//  * bound values must outlive the statement: pass named variables;
//  * booleans are bound as int; 64-bit integers as long long;
//  * optional values go through nullable_text (value + indicator).

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "db/connection.hpp"
#include "db/dialect.hpp"
#include "db/rows.hpp"

namespace trevor::detail {

// ------------------------------------------------------------ statement texts

/// A fixed SQL text (N includes the terminating NUL), composed at compile
/// time: sql_text{"SELECT "} + columns + " FROM t". Usable as a template
/// argument (fragments parametrised by a table alias: decided_at<"r">).
template <std::size_t N>
struct sql_text {
  char chars[N]{};

  constexpr sql_text() = default;
  constexpr sql_text(const char (&s)[N]) {  // NOLINT: implicit from a literal
    for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
  }
  constexpr const char* c_str() const noexcept { return chars; }
  constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
  constexpr operator std::string_view() const noexcept { return view(); }  // NOLINT
};

template <std::size_t A, std::size_t B>
constexpr sql_text<A + B - 1> operator+(const sql_text<A>& a, const sql_text<B>& b) {
  sql_text<A + B - 1> out;
  for (std::size_t i = 0; i + 1 < A; ++i) out.chars[i] = a.chars[i];
  for (std::size_t i = 0; i < B; ++i) out.chars[A - 1 + i] = b.chars[i];
  return out;
}
template <std::size_t A, std::size_t B>
constexpr auto operator+(const sql_text<A>& a, const char (&b)[B]) {
  return a + sql_text<B>(b);
}
template <std::size_t A, std::size_t B>
constexpr auto operator+(const char (&a)[A], const sql_text<B>& b) {
  return sql_text<A>(a) + b;
}

/// How a statement runs: a one-time statement, or prepared once per
/// connection and re-executed.
enum class run_mode { one_time, prepared };

/// A statement text of static storage duration and how it runs. Made only by
/// one_time() and prepared().
template <run_mode M>
struct statement {
  const char* text;
};

/// A one-time statement (the default; every statement that may fail in
/// normal operation, such as an INSERT that can hit a unique key).
template <std::size_t N>
consteval statement<run_mode::one_time> one_time(const sql_text<N>& text) {
  return {text.chars};
}
template <std::size_t N>
consteval statement<run_mode::one_time> one_time(const char (&text)[N]) {
  return {text};
}

/// A statement prepared once per connection and re-executed: PostgreSQL then
/// skips parsing and planning (about half a millisecond for a statement with
/// several subqueries), SQLite skips sqlite3_prepare. For the workflow's hot
/// reads and conditional updates: SOCI 4.0's PostgreSQL backend leaks the
/// parameter buffers of a prepared statement's failed execution, so INSERTs
/// that may hit a unique or foreign key stay one-time statements. A prepared
/// statement that fails is dropped and prepared afresh on its next use.
template <std::size_t N>
consteval statement<run_mode::prepared> prepared(const sql_text<N>& text) {
  return {text.chars};
}
template <std::size_t N>
consteval statement<run_mode::prepared> prepared(const char (&text)[N]) {
  return {text};
}

// ------------------------------------------------------------ binding

/// A parameter that binds with soci::use(value, indicator).
template <class T>
struct bind_nullable {
  T& value;
  soci::indicator& ind;
};
inline bind_nullable<std::string> nullable(nullable_text& n) {
  return {n.value, n.ind};
}

// soci::use() keeps a reference to its `name` argument, whose default is a
// temporary: returned from a helper it would dangle. Pass a name that lives
// forever instead.
inline const std::string& positional() {
  static const std::string none;
  return none;
}
template <class T>
auto use_one(T& v) {
  return soci::use(v, positional());
}
template <class T>
auto use_one(bind_nullable<T> n) {
  return soci::use(n.value, n.ind, positional());
}

// ------------------------------------------------------------ statements built per call

/// A statement whose text depends on the call (optional filters, a chosen
/// order), with its bound values kept alive until it ran (SOCI binds by
/// address). Parameters are named :p0, :p1…; the text may use dialect
/// placeholders. Run it with query_one() / query_all().
class sql_builder {
 public:
  sql_builder& operator<<(std::string_view sql) {
    sql_ += sql;
    return *this;
  }
  /// Appends a placeholder bound to `value`.
  sql_builder& text(std::string value) {
    texts_.push_back(std::move(value));
    return placeholder(false, texts_.size() - 1);
  }
  sql_builder& integer(long long value) {
    ints_.push_back(value);
    return placeholder(true, ints_.size() - 1);
  }
  /// " WHERE " before the statement's first condition(), " AND " before the
  /// others (for statements with a single filtered WHERE clause).
  sql_builder& condition() {
    sql_ += conditions_++ ? " AND " : " WHERE ";
    return *this;
  }

  /// The text as written (dialect placeholders unexpanded).
  const std::string& sql() const noexcept { return sql_; }
  /// Binds the values in placeholder order to a statement being prepared
  /// from this text.
  void bind(soci::details::prepare_temp_type& prep) const;

 private:
  sql_builder& placeholder(bool is_int, std::size_t k);

  std::string sql_;
  std::size_t conditions_ = 0;
  std::deque<std::string> names_;
  std::deque<std::string> texts_;
  std::deque<long long> ints_;
  std::vector<std::pair<bool, std::size_t>> order_;
};

// ------------------------------------------------------------ running them

template <class Read>
using read_result_t = std::decay_t<std::invoke_result_t<Read&, row_reader&>>;

/// Reads row `r` with `read`, which must read every column exactly once.
template <class Read>
read_result_t<Read> read_row(const soci::row& r, Read& read) {
  row_reader in(r);
  auto value = read(in);
  in.finish();
  return value;
}

template <class T>
struct param_storage {
  using type = std::decay_t<T>;
};
template <>
struct param_storage<bind_nullable<std::string>> {
  using type = nullable_text;
};
template <class T>
using param_storage_t = typename param_storage<T>::type;

/// A statement prepared once per connection; its parameters are copied into
/// storage it owns.
template <class... Ps>
struct prepared_rows final : cached_statement {
  std::tuple<Ps...> params;
  soci::row row;
  soci::statement st;

  prepared_rows(connection& c, const char* sql) : st(c.sql) {
    st.alloc();
    std::apply([this](auto&... p) { (bind(p), ...); }, params);
    st.exchange(soci::into(row));
    st.prepare(expanded(sql, c.kind()));
    st.define_and_bind();
  }
  template <class T>
  void bind(T& p) {
    st.exchange(soci::use(p, positional()));
  }
  void bind(nullable_text& p) { st.exchange(soci::use(p.value, p.ind, positional())); }
};

template <class T, class V>
void assign_param(T& slot, V&& v) {
  slot = v;
}
inline void assign_param(nullable_text& slot, bind_nullable<std::string> v) {
  slot.value = v.value;
  slot.ind = v.ind;
}

/// Runs `text` as a statement prepared once per connection (cached_for()),
/// calling on_row for each result row; a failed execution drops it.
template <class OnRow, class... Args>
void for_each_cached_row(connection& c, const char* text, OnRow&& on_row, Args&&... args) {
  using P = prepared_rows<param_storage_t<Args>...>;
  auto& p = c.cached_for<P>(text, [&] { return std::make_unique<P>(c, text); });
  std::apply([&](auto&... slot) { (assign_param(slot, std::forward<Args>(args)), ...); }, p.params);
  try {
    if (p.st.execute(true)) {
      do on_row(static_cast<const soci::row&>(p.row));
      while (p.st.fetch());
    }
  } catch (...) {
    c.forget_cached<P>(text);
    throw;
  }
}

/// Runs statement `s` with `args` and calls on_row for each result row.
///
/// On SQLite a one-time statement is prepared once per connection too: the
/// leak that keeps INSERTs one-time is the PostgreSQL backend's, and
/// sqlite3_prepare of a write compiles its table's triggers and foreign
/// keys every time (most of a request creation's own cost).
template <run_mode M, class OnRow, class... Args>
void for_each_row(connection& c, statement<M> s, OnRow&& on_row, Args&&... args) {
  if (M == run_mode::prepared || c.kind() == engine::sqlite) {
    for_each_cached_row(c, s.text, std::forward<OnRow>(on_row), std::forward<Args>(args)...);
  } else {
    soci::rowset<soci::row> rows =
        ((c.sql.prepare << expanded(s.text, c.kind())), ..., use_one(args));
    for (const auto& r : rows) on_row(r);
  }
}

/// Runs a built statement and calls on_row for each result row.
template <class OnRow>
void for_each_row(connection& c, const sql_builder& s, OnRow&& on_row) {
  const std::string sql = expand_sql(s.sql(), c.kind());
  soci::details::prepare_temp_type prep = (c.sql.prepare << sql);
  s.bind(prep);
  soci::rowset<soci::row> rows(prep);
  for (const auto& r : rows) on_row(r);
}

/// The row a statement returns, if any, read with `read`.
template <run_mode M, class Read, class... Args>
std::optional<read_result_t<Read>> query_one(connection& c, statement<M> s, Read&& read,
                                             Args&&... args) {
  if (M == run_mode::prepared || c.kind() == engine::sqlite) {
    std::optional<read_result_t<Read>> out;
    for_each_row(
        c, s,
        [&](const soci::row& r) {
          if (!out) out = read_row(r, read);
        },
        std::forward<Args>(args)...);
    return out;
  } else {
    soci::row r;
    ((c.sql << expanded(s.text, c.kind())), ..., use_one(args)), soci::into(r);
    if (!c.sql.got_data()) return std::nullopt;
    return read_row(r, read);
  }
}

template <class Read>
std::optional<read_result_t<Read>> query_one(connection& c, const sql_builder& s, Read&& read) {
  std::optional<read_result_t<Read>> out;
  for_each_row(c, s, [&](const soci::row& r) {
    if (!out) out = read_row(r, read);
  });
  return out;
}

/// Every row a statement returns, each read with `read`.
template <run_mode M, class Read, class... Args>
std::vector<read_result_t<Read>> query_all(connection& c, statement<M> s, Read&& read,
                                           Args&&... args) {
  std::vector<read_result_t<Read>> out;
  for_each_row(
      c, s, [&](const soci::row& r) { out.push_back(read_row(r, read)); },
      std::forward<Args>(args)...);
  return out;
}

template <class Read>
std::vector<read_result_t<Read>> query_all(connection& c, const sql_builder& s, Read&& read) {
  std::vector<read_result_t<Read>> out;
  for_each_row(c, s, [&](const soci::row& r) { out.push_back(read_row(r, read)); });
  return out;
}

/// Reads a row of one integer column (a count).
inline std::int64_t read_count(row_reader& r) {
  return r.i64();
}

/// Runs a counting statement (SELECT count(*) ...).
template <run_mode M, class... Args>
long long query_count(connection& c, statement<M> s, Args&&... args) {
  return query_one(c, s, read_count, std::forward<Args>(args)...).value_or(0);
}

/// Runs a one-time statement that returns no rows; returns the number of
/// rows it changed.
template <class... Args>
long long execute(connection& c, statement<run_mode::one_time> s, Args&&... args) {
  soci::statement st = ((c.sql.prepare << expanded(s.text, c.kind())), ..., use_one(args));
  st.execute(true);
  return st.get_affected_rows();
}

}  // namespace trevor::detail
