#pragma once
// The streaming table scan behind the table checks (internal).
//
// One pass over the records of a CSV/TSV table. Memory: per column a
// column_state (its name, flags and at most sdc_limits::max_cells rows per
// list); for recoverable_suppression, while at most `max_rows` data rows have
// been seen, the positions of their non-numeric fields and Total/All labels
// (4 bytes each, at most sdc_limits::max_kept_positions in all); for evidence
// matching, one row number per evidence key looked for.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "trevor/sdc.hpp"

namespace trevor::detail {

/// Rows of one check: how many, and the first few.
struct row_list {
  std::int64_t count = 0;
  std::vector<std::int64_t> rows;
  void add(std::int64_t row) {
    ++count;
    if (rows.size() < sdc::sdc_limits::max_cells) rows.push_back(row);
  }
};

struct column_state {
  std::string name;
  bool numeric = true;  // every value so far a number or a suppressed marker
  bool total = false;   // the header is Total/All
  bool dof = false;     // the header names residual degrees of freedom
  std::int64_t numbers = 0;
  row_list below_threshold, zeros, unrounded, dof_low;
};

/// Rows of the table whose values in `columns` (by header name) are a key
/// of `rows`; a key is the values joined by '\x1f'. Row 0: not found yet.
struct row_match {
  std::vector<std::string> columns;
  std::unordered_map<std::string, std::int64_t> rows;
};

/// The analysis of a field: a number, a suppressed marker, or other text.
std::optional<double> number_of(std::string_view field) noexcept;
bool is_suppressed(std::string_view field) noexcept;
bool is_total_label(std::string_view field) noexcept;

class table_scan {
 public:
  table_scan(const sdc::policy& p, row_match* match);

  /// One record; the first is the header.
  void record(std::span<const std::string_view> fields, std::size_t total);

  const std::vector<column_state>& columns() const noexcept { return cols_; }
  std::int64_t rows() const noexcept { return rows_; }
  bool too_wide() const noexcept { return too_wide_; }
  bool header_seen() const noexcept { return header_seen_; }

  /// Leading columns that are not all numbers.
  std::size_t label_columns() const noexcept;

  struct recovery {
    bool checked = false;  // false: too many positions to keep
    std::size_t total_rows = 0, total_columns = 0;
    bool row_equations = false, column_equations = false;
    std::int64_t suppressed = 0;                              // unknown cells among cell columns
    std::vector<std::pair<std::int64_t, std::size_t>> cells;  // recoverable (row, column)
  };
  /// Call after the last record, only when rows() <= max_rows.
  recovery recoverable() const;

 private:
  static constexpr std::uint32_t total_bit = 0x80000000u;
  static constexpr std::uint32_t empty_bit = 0x40000000u;
  static constexpr std::uint32_t column_mask = 0x3fffffffu;

  const sdc::policy& p_;
  row_match* match_;
  std::vector<std::size_t> match_index_;  // table column of each match column
  std::string key_;
  std::vector<column_state> cols_;
  std::int64_t rows_ = 0;
  bool header_seen_ = false;
  bool too_wide_ = false;
  bool keeping_ = true;
  bool overflow_ = false;
  std::vector<std::uint32_t> positions_;  // per kept row: column | flags
  std::vector<std::uint32_t> row_end_;    // end of each kept row's positions
};

}  // namespace trevor::detail
