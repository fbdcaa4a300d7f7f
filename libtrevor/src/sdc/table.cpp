#include "sdc/table.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <deque>

namespace trevor::detail {
namespace {

bool iequal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool is_dof_name(std::string_view name) noexcept {
  name = trim(name);
  return iequal(name, "dof") || iequal(name, "df") || iequal(name, "df_resid") ||
         iequal(name, "residual_dof");
}

}  // namespace

std::optional<double> number_of(std::string_view field) noexcept {
  field = trim(field);
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  if (field.empty()) return std::nullopt;
  // Only plain decimal notation: no "nan", "inf" or hexadecimal.
  const char c = field.front() == '-' && field.size() > 1 ? field[1] : field.front();
  if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.')) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (ec != std::errc() || p != field.data() + field.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

bool is_suppressed(std::string_view field) noexcept {
  field = trim(field);
  if (field.empty() || field == "*" || field == ".." || field == "-" || field == "~" ||
      iequal(field, "x") || iequal(field, "na"))
    return true;
  if (field.front() == '<') return number_of(field.substr(1)).has_value();
  return false;
}

bool is_total_label(std::string_view field) noexcept {
  field = trim(field);
  return iequal(field, "total") || iequal(field, "all");
}

table_scan::table_scan(const sdc::policy& p, row_match* match) : p_(p), match_(match) {}

std::size_t table_scan::label_columns() const noexcept {
  std::size_t n = 0;
  while (n < cols_.size() && !cols_[n].numeric) ++n;
  return n;
}

void table_scan::record(std::span<const std::string_view> fields, std::size_t total) {
  if (!header_seen_) {
    header_seen_ = true;
    if (total > sdc::sdc_limits::max_columns) {
      too_wide_ = true;
      return;
    }
    cols_.resize(fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
      cols_[i].name = std::string(trim(fields[i]));
      cols_[i].total = is_total_label(fields[i]);
      cols_[i].dof = is_dof_name(fields[i]);
    }
    if (match_) {
      for (const auto& name : match_->columns) {
        auto it = std::find_if(cols_.begin(), cols_.end(),
                               [&](const column_state& c) { return c.name == name; });
        if (it == cols_.end()) {
          match_ = nullptr;  // the labels differ: nothing to match
          break;
        }
        match_index_.push_back(static_cast<std::size_t>(it - cols_.begin()));
      }
      if (match_ && match_->rows.empty()) match_ = nullptr;
    }
    return;
  }
  if (too_wide_) return;
  const std::int64_t row = ++rows_;
  if (rows_ > p_.max_rows) keeping_ = false;
  const bool keep = keeping_ && !overflow_;

  const std::size_t n = std::min(fields.size(), cols_.size());
  const double threshold = static_cast<double>(p_.threshold);
  const double dof_threshold = static_cast<double>(p_.dof_threshold);
  for (std::size_t i = 0; i < n; ++i) {
    column_state& c = cols_[i];
    const std::string_view f = fields[i];
    if (auto v = number_of(f)) {
      ++c.numbers;
      if (*v == 0)
        c.zeros.add(row);
      else if (*v < threshold)
        c.below_threshold.add(row);
      if (p_.round_base) {
        const double base = static_cast<double>(*p_.round_base);
        if (std::floor(*v) != *v || std::fmod(*v, base) != 0) c.unrounded.add(row);
      }
      if (c.dof && *v < dof_threshold) c.dof_low.add(row);
      continue;
    }
    const bool suppressed = is_suppressed(f);
    if (!suppressed) c.numeric = false;
    if (keep) {
      std::uint32_t pos = static_cast<std::uint32_t>(i);
      if (is_total_label(f)) pos |= total_bit;
      if (trim(f).empty()) pos |= empty_bit;
      positions_.push_back(pos);
    }
  }
  if (keep) {
    // Missing trailing fields are unknown cells.
    for (std::size_t i = n; i < cols_.size(); ++i)
      positions_.push_back(static_cast<std::uint32_t>(i) | empty_bit);
    row_end_.push_back(static_cast<std::uint32_t>(positions_.size()));
    if (positions_.size() > sdc::sdc_limits::max_kept_positions) {
      overflow_ = true;
      positions_ = {};
      row_end_ = {};
    }
  } else if (!keeping_ && !positions_.empty()) {
    positions_ = {};  // record-level data: the row data is of no further use
    row_end_ = {};
  }

  if (match_) {
    key_.clear();
    for (std::size_t j = 0; j < match_index_.size(); ++j) {
      if (j) key_ += '\x1f';
      const std::size_t at = match_index_[j];
      if (at < fields.size()) key_ += trim(fields[at]);
    }
    if (auto it = match_->rows.find(key_); it != match_->rows.end() && it->second == 0)
      it->second = row;
  }
}

table_scan::recovery table_scan::recoverable() const {
  recovery out;
  if (overflow_ || too_wide_) return out;
  out.checked = true;
  const std::size_t labels = label_columns();
  const std::size_t ncols = cols_.size();

  std::vector<std::size_t> total_cols;
  for (std::size_t c = labels; c < ncols; ++c)
    if (cols_[c].total) total_cols.push_back(c);
  out.total_columns = total_cols.size();

  // Total rows: a Total/All label in a label column; a grand total has
  // nothing but Total/All or blanks in its label columns.
  std::vector<std::size_t> total_rows;
  bool grand = false;
  const std::size_t nrows = row_end_.size();
  for (std::size_t r = 0; r < nrows; ++r) {
    const std::uint32_t b = r ? row_end_[r - 1] : 0;
    std::size_t totals = 0, blanks = 0;
    for (std::uint32_t k = b; k < row_end_[r]; ++k) {
      const std::uint32_t col = positions_[k] & column_mask;
      if (col >= labels) continue;
      if (positions_[k] & total_bit)
        ++totals;
      else if (positions_[k] & empty_bit)
        ++blanks;
    }
    if (totals) {
      total_rows.push_back(r);
      grand = totals + blanks == labels;
    }
  }
  out.total_rows = total_rows.size();
  out.row_equations = total_cols.size() == 1;
  out.column_equations = total_rows.size() == 1 && grand;

  // The unknown cells (non-numbers in cell columns) and the lines they lie on.
  struct unknown {
    std::size_t row, col;
    bool known = false;
  };
  std::vector<unknown> cells;
  std::vector<std::vector<std::size_t>> by_row(nrows), by_col(ncols);
  for (std::size_t r = 0; r < nrows; ++r) {
    const std::uint32_t b = r ? row_end_[r - 1] : 0;
    for (std::uint32_t k = b; k < row_end_[r]; ++k) {
      const std::size_t col = positions_[k] & column_mask;
      if (col < labels) continue;
      by_row[r].push_back(cells.size());
      by_col[col].push_back(cells.size());
      cells.push_back({r, col});
    }
  }
  out.suppressed = static_cast<std::int64_t>(cells.size());
  if (!out.row_equations && !out.column_equations) return out;

  // Peel: a line (an equation "cells = total") with exactly one unknown
  // gives it away; a cell found so helps the line across it.
  std::vector<std::size_t> row_left(nrows), col_left(ncols);
  for (std::size_t r = 0; r < nrows; ++r) row_left[r] = by_row[r].size();
  for (std::size_t c = 0; c < ncols; ++c) col_left[c] = by_col[c].size();
  std::deque<std::pair<bool, std::size_t>> queue;  // (is_row, index)
  if (out.row_equations)
    for (std::size_t r = 0; r < nrows; ++r)
      if (row_left[r] == 1) queue.emplace_back(true, r);
  if (out.column_equations)
    for (std::size_t c = labels; c < ncols; ++c)
      if (col_left[c] == 1) queue.emplace_back(false, c);
  while (!queue.empty()) {
    const auto [is_row, idx] = queue.front();
    queue.pop_front();
    if ((is_row ? row_left[idx] : col_left[idx]) != 1) continue;
    const auto& line = is_row ? by_row[idx] : by_col[idx];
    for (std::size_t id : line) {
      if (cells[id].known) continue;
      cells[id].known = true;
      out.cells.emplace_back(static_cast<std::int64_t>(cells[id].row) + 1, cells[id].col);
      --row_left[cells[id].row];
      --col_left[cells[id].col];
      if (out.row_equations && row_left[cells[id].row] == 1)
        queue.emplace_back(true, cells[id].row);
      if (out.column_equations && col_left[cells[id].col] == 1)
        queue.emplace_back(false, cells[id].col);
      break;
    }
  }
  std::sort(out.cells.begin(), out.cells.end());
  return out;
}

}  // namespace trevor::detail
