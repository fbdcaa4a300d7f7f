// The SDC checks (libtrevor/README.md, "SDC checks") over one object: every-object checks, the
// table checks of its statbarn, and the evidence-based magnitude checks.
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "sdc/content_type.hpp"
#include "sdc/csv_stream.hpp"
#include "sdc/table.hpp"
#include "trevor/error.hpp"
#include "trevor/sdc.hpp"

namespace trevor::sdc {
namespace {

using detail::csv_stream;
using detail::row_list;
using detail::table_scan;

constexpr std::array<std::string_view, 14> statbarn_names{"Frequencies",
                                                          "LinearAggregations",
                                                          "CalculatedRatios",
                                                          "NonLinearConcentrationRatios",
                                                          "CorrelationCoefficients",
                                                          "StatisticalHypothesisTests",
                                                          "Shape",
                                                          "HazardSurvivalTables",
                                                          "Position",
                                                          "Endpoints",
                                                          "Mode",
                                                          "GiniCoefficient",
                                                          "Clusters",
                                                          "LinkedMultilevelTables"};

enum class group { frequencies, magnitude, dof, review_only, unknown };

group group_of(std::string_view s) {
  if (s == "Frequencies") return group::frequencies;
  if (s == "LinearAggregations" || s == "CalculatedRatios" || s == "NonLinearConcentrationRatios")
    return group::magnitude;
  if (s == "CorrelationCoefficients" || s == "StatisticalHypothesisTests" || s == "Shape" ||
      s == "HazardSurvivalTables")
    return group::dof;
  if (s == "Position" || s == "Endpoints" || s == "Mode" || s == "GiniCoefficient" ||
      s == "Clusters" || s == "LinkedMultilevelTables")
    return group::review_only;
  return group::unknown;
}

std::string plural(std::int64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

check_result make(std::string check, status st, severity sev, std::string detail,
                  std::vector<cell> cells = {}) {
  return {std::move(check), st, sev, std::move(detail), std::move(cells)};
}

// --- reading -------------------------------------------------------------------

/// Pulls from `reader` until `out` holds `want` bytes or the reader ends.
void pull_head(const byte_reader& reader, std::string& out, std::size_t want) {
  out.resize(want);
  std::size_t have = 0;
  while (have < want) {
    const std::size_t n = reader(out.data() + have, want - have);
    if (n == 0) break;
    have += n;
  }
  out.resize(have);
}

/// Feeds `head` and then the rest of `reader` to `stream`.
void stream_table(const byte_reader& reader, std::string_view head, csv_stream& stream) {
  stream.feed(head);
  if (head.size() == sdc_limits::sniff_bytes) {
    auto buffer = std::make_unique<char[]>(sdc_limits::sniff_bytes);
    for (;;) {
      const std::size_t n = reader(buffer.get(), sdc_limits::sniff_bytes);
      if (n == 0) break;
      stream.feed(std::string_view(buffer.get(), n));
    }
  }
  stream.finish();
}

char delimiter_of(std::string_view filename) {
  return detail::has_extension(filename, ".tsv") ? '\t' : ',';
}

bool is_table_name(std::string_view filename) {
  return detail::has_extension(filename, ".csv") || detail::has_extension(filename, ".tsv");
}

// --- content type ------------------------------------------------------------------

bool is_text(std::string_view mime) {
  return mime.starts_with("text/") || mime == "application/json" || mime == "application/csv" ||
         mime == "application/x-ndjson" || mime == "application/javascript";
}

constexpr std::array<std::string_view, 22> text_extensions{
    ".csv", ".tsv", ".txt", ".md",  ".json", ".log",  ".tex", ".html",  ".htm", ".xml", ".py",
    ".r",   ".rmd", ".do",  ".sas", ".sql",  ".yaml", ".yml", ".ipynb", ".sps", ".jl",  ".qmd"};
constexpr std::array<std::string_view, 9> image_extensions{".png",  ".jpg", ".jpeg", ".gif", ".tif",
                                                           ".tiff", ".bmp", ".webp", ".svg"};

check_result content_check(const std::string& filename, std::string_view ext, output_type type,
                           const std::string& mime) {
  const bool text = is_text(mime);
  const bool image = mime.starts_with("image/");
  const bool pdf = mime == "application/pdf";
  std::vector<std::string> problems;
  if (std::find(text_extensions.begin(), text_extensions.end(), ext) != text_extensions.end() &&
      !text && !(ext == ".svg"))
    problems.push_back(fmt::format("'{}' is named as text but its bytes are {}", filename, mime));
  else if (std::find(image_extensions.begin(), image_extensions.end(), ext) !=
               image_extensions.end() &&
           !image && !(ext == ".svg" && text))
    problems.push_back(
        fmt::format("'{}' is named as an image but its bytes are {}", filename, mime));
  else if (ext == ".pdf" && !pdf)
    problems.push_back(fmt::format("'{}' is named as a PDF but its bytes are {}", filename, mime));
  else if (ext == ".zip" && mime != "application/zip")
    problems.push_back(fmt::format("'{}' is named as a zip but its bytes are {}", filename, mime));
  if (type == output_type::figure && !image && !pdf)
    problems.push_back(fmt::format("a figure must be an image or a PDF, not {}", mime));
  if (type == output_type::tabular && !text)
    problems.push_back(fmt::format("a tabular output must be text, not {}", mime));
  if (problems.empty())
    return make("content_type_consistent", status::pass, severity::critical,
                fmt::format("the bytes ({}) match the name and the output type", mime));
  std::string detail = problems.front();
  for (std::size_t i = 1; i < problems.size(); ++i) detail += "; " + problems[i];
  return make("content_type_consistent", status::fail, severity::critical, std::move(detail));
}

// --- table checks ---------------------------------------------------------------------

/// The cells of `lists` (one per cell column), first in row order.
std::vector<cell> merge_cells(const std::vector<detail::column_state>& cols, std::size_t first,
                              row_list detail::column_state::*which, std::int64_t& count) {
  std::vector<std::pair<std::int64_t, std::size_t>> all;
  count = 0;
  for (std::size_t c = first; c < cols.size(); ++c) {
    const row_list& l = cols[c].*which;
    count += l.count;
    for (std::int64_t r : l.rows) all.emplace_back(r, c);
  }
  std::sort(all.begin(), all.end());
  if (all.size() > sdc_limits::max_cells) all.resize(sdc_limits::max_cells);
  std::vector<cell> out;
  out.reserve(all.size());
  for (const auto& [r, c] : all) out.push_back({r, cols[c].name});
  return out;
}

std::string listed_note(std::int64_t count) {
  return count > static_cast<std::int64_t>(sdc_limits::max_cells)
             ? fmt::format(" (the first {} listed)", sdc_limits::max_cells)
             : std::string();
}

void frequency_checks(const table_scan& t, const policy& p, std::vector<check_result>& out) {
  const auto& cols = t.columns();
  const std::size_t labels = t.label_columns();
  const bool any_cells = labels < cols.size() && t.rows() > 0;
  if (!any_cells) {
    const std::string why =
        t.rows() == 0 ? "the table has no data rows" : "the table has no column of numbers";
    for (const char* name : {"minimum_threshold", "zeros", "rounding", "recoverable_suppression"})
      out.push_back(make(name, status::review, severity::critical, why + "; a human must check"));
  } else {
    std::int64_t n = 0;
    auto cells = merge_cells(cols, labels, &detail::column_state::below_threshold, n);
    out.push_back(n ? make("minimum_threshold", status::fail, severity::critical,
                           fmt::format("{} below {}{}", plural(n, "cell", "cells"), p.threshold,
                                       listed_note(n)),
                           std::move(cells))
                    : make("minimum_threshold", status::pass, severity::critical,
                           fmt::format("every non-zero count is at least {}", p.threshold)));

    if (!p.zeros_are_disclosive) {
      out.push_back(make("zeros", status::not_applicable, severity::critical,
                         "zeros are not disclosive under this policy"));
    } else {
      cells = merge_cells(cols, labels, &detail::column_state::zeros, n);
      out.push_back(
          n ? make("zeros", status::fail, severity::critical,
                   fmt::format("{} 0{}", n == 1 ? "1 count is" : fmt::format("{} counts are", n),
                               listed_note(n)),
                   std::move(cells))
            : make("zeros", status::pass, severity::critical, "no count is 0"));
    }

    if (!p.round_base) {
      out.push_back(make("rounding", status::not_applicable, severity::critical,
                         "the policy sets no round_base"));
    } else {
      cells = merge_cells(cols, labels, &detail::column_state::unrounded, n);
      out.push_back(n ? make("rounding", status::fail, severity::critical,
                             fmt::format("{} not a multiple of {}{}",
                                         n == 1 ? "1 count is" : fmt::format("{} counts are", n),
                                         *p.round_base, listed_note(n)),
                             std::move(cells))
                      : make("rounding", status::pass, severity::critical,
                             fmt::format("every count is a multiple of {}", *p.round_base)));
    }

    if (t.rows() > p.max_rows) {
      out.push_back(
          make("recoverable_suppression", status::not_applicable, severity::critical,
               fmt::format("not checked: the table has more than {} data rows", p.max_rows)));
    } else {
      const auto r = t.recoverable();
      if (!r.checked) {
        out.push_back(make("recoverable_suppression", status::review, severity::critical,
                           "too many suppressed cells to check; a human must check"));
      } else if (!r.cells.empty()) {
        std::vector<cell> cs;
        for (const auto& [row, col] : r.cells) {
          if (cs.size() == sdc_limits::max_cells) break;
          cs.push_back({row, cols[col].name});
        }
        const auto k = static_cast<std::int64_t>(r.cells.size());
        out.push_back(make("recoverable_suppression", status::fail, severity::critical,
                           fmt::format("{} of {} suppressed cells can be recovered from the "
                                       "totals{}",
                                       k, r.suppressed, listed_note(k)),
                           std::move(cs)));
      } else if (r.suppressed == 0) {
        out.push_back(make("recoverable_suppression", status::pass, severity::critical,
                           "no cell is suppressed"));
      } else if (!r.row_equations && !r.column_equations) {
        out.push_back(make(
            "recoverable_suppression", status::pass, severity::critical,
            r.total_rows + r.total_columns == 0
                ? fmt::format("{} suppressed, and no Total/All row or column to recover them from",
                              plural(r.suppressed, "cell", "cells"))
                : fmt::format("{} suppressed; the Total/All rows and columns are not a single "
                              "grand total, a human should check sub-totals",
                              plural(r.suppressed, "cell", "cells"))));
      } else {
        out.push_back(make("recoverable_suppression", status::pass, severity::critical,
                           fmt::format("{} suppressed, none recoverable from the totals",
                                       plural(r.suppressed, "cell", "cells"))));
      }
    }
  }
  out.push_back(t.rows() > p.max_rows
                    ? make("individual_records", status::fail, severity::critical,
                           fmt::format("the table has more than {} data rows ({}): record-level "
                                       "data, not a table",
                                       p.max_rows, t.rows()))
                    : make("individual_records", status::pass, severity::critical,
                           fmt::format("{}, at most {}", plural(t.rows(), "data row", "data rows"),
                                       p.max_rows)));
}

void dof_checks(const table_scan& t, const policy& p, std::vector<check_result>& out) {
  const auto& cols = t.columns();
  std::int64_t values = 0;
  bool named = false;
  for (const auto& c : cols)
    if (c.dof) {
      named = true;
      values += c.numbers;
    }
  if (!named) {
    out.push_back(make("residual_dof", status::review, severity::critical,
                       "no column named dof, df, df_resid or residual_dof; a human must check the "
                       "residual degrees of freedom"));
    return;
  }
  if (values == 0) {
    out.push_back(make("residual_dof", status::review, severity::critical,
                       "the degrees-of-freedom column holds no numbers; a human must check"));
    return;
  }
  std::vector<std::pair<std::int64_t, std::size_t>> all;
  std::int64_t n = 0;
  for (std::size_t c = 0; c < cols.size(); ++c) {
    if (!cols[c].dof) continue;
    n += cols[c].dof_low.count;
    for (std::int64_t r : cols[c].dof_low.rows) all.emplace_back(r, c);
  }
  std::sort(all.begin(), all.end());
  if (all.size() > sdc_limits::max_cells) all.resize(sdc_limits::max_cells);
  std::vector<cell> cells;
  for (const auto& [r, c] : all) cells.push_back({r, cols[c].name});
  out.push_back(
      n ? make("residual_dof", status::fail, severity::critical,
               fmt::format("{} below {} residual degrees of freedom{}",
                           plural(n, "value", "values"), p.dof_threshold, listed_note(n)),
               std::move(cells))
        : make("residual_dof", status::pass, severity::critical,
               fmt::format("every residual degrees of freedom is at least {}", p.dof_threshold)));
}

// --- evidence -------------------------------------------------------------------------

struct pending_cell {
  std::int64_t evidence_row = 0;
  std::string key;     // label values joined by '\x1f'
  std::string column;  // the table's column ("" until known)
};

struct pending_list {
  std::int64_t count = 0;
  std::vector<pending_cell> cells;
  void add(pending_cell c) {
    ++count;
    if (cells.size() < sdc_limits::max_cells) cells.push_back(std::move(c));
  }
};

struct evidence_scan {
  // outcome
  std::string problem;  // non-empty: the evidence cannot be used
  std::int64_t rows = 0;
  std::vector<std::string> label_names;
  bool has_column = false;
  pending_list below, nk, p, negatives, unreadable;

  // reading state
  const policy* pol = nullptr;
  bool header = false;
  std::array<std::size_t, 6> at{};  // count, sum, max, top2_sum, topn_sum, negatives
  std::size_t column_at = 0;
  std::vector<std::size_t> label_at;

  static constexpr std::array<std::string_view, 6> names{"count",    "sum",      "max",
                                                         "top2_sum", "topn_sum", "negatives"};

  void record(std::span<const std::string_view> fields) {
    if (!header) {
      header = true;
      std::array<bool, 6> found{};
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::string name(fields[i]);
        auto it = std::find(names.begin(), names.end(), name);
        if (it != names.end()) {
          const auto k = static_cast<std::size_t>(it - names.begin());
          at[k] = i;
          found[k] = true;
        } else if (name == "column") {
          has_column = true;
          column_at = i;
        } else {
          label_names.push_back(name);
          label_at.push_back(i);
        }
      }
      std::string missing;
      for (std::size_t k = 0; k < names.size(); ++k)
        if (!found[k]) missing += (missing.empty() ? "" : ", ") + std::string(names[k]);
      if (!missing.empty()) problem = fmt::format("the evidence lacks the columns {}", missing);
      return;
    }
    if (!problem.empty()) return;
    const std::int64_t row = ++rows;
    pending_cell pc;
    pc.evidence_row = row;
    for (std::size_t j = 0; j < label_at.size(); ++j) {
      if (j) pc.key += '\x1f';
      if (label_at[j] < fields.size()) {
        std::string_view v = fields[label_at[j]];
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        pc.key += v;
      }
    }
    if (has_column && column_at < fields.size()) pc.column = std::string(fields[column_at]);
    std::array<double, 6> v{};
    for (std::size_t k = 0; k < names.size(); ++k) {
      auto x = at[k] < fields.size() ? detail::number_of(fields[at[k]]) : std::nullopt;
      if (!x) {
        unreadable.add(std::move(pc));
        return;
      }
      v[k] = *x;
    }
    const double count = v[0], s = v[1], x1 = v[2], top2 = v[3], topn = v[4], negs = v[5];
    if (count != 0 && count < static_cast<double>(pol->threshold)) below.add(pc);
    if (negs > 0) {
      negatives.add(std::move(pc));
      return;
    }
    // (n,k) dominance: the largest n contributions must be < k of the total.
    if (s > 0 && topn / s >= pol->nk_k) nk.add(pc);
    // p% rule: (S - x1 - x2) / x1 must be >= p; x1 = 0 passes.
    const double x2 = top2 - x1;
    if (x1 > 0 && (s - x1 - x2) / x1 < pol->p_ratio) p.add(pc);
  }
};

std::vector<std::string> evidence_keys(const evidence_scan& e) {
  std::vector<std::string> keys;
  for (const pending_list* l : {&e.below, &e.nk, &e.p, &e.negatives})
    for (const auto& c : l->cells) keys.push_back(c.key);
  return keys;
}

/// The cells of `l` in the table's terms where a row matched.
std::vector<cell> resolve(const pending_list& l, const detail::row_match* m,
                          const std::string& default_column, std::int64_t& unmatched) {
  std::vector<std::pair<std::int64_t, std::string>> all;
  for (const auto& c : l.cells) {
    std::int64_t row = 0;
    if (m)
      if (auto it = m->rows.find(c.key); it != m->rows.end()) row = it->second;
    if (row == 0) {
      row = c.evidence_row;
      ++unmatched;
    }
    all.emplace_back(row, c.column.empty() ? default_column : c.column);
  }
  std::sort(all.begin(), all.end());
  std::vector<cell> out;
  for (auto& [r, col] : all) out.push_back({r, std::move(col)});
  return out;
}

void magnitude_checks(const evidence_scan& e, const detail::row_match* m,
                      const std::string& default_column, const std::string& evidence_name,
                      const policy& p, std::vector<check_result>& out) {
  if (!e.problem.empty()) {
    out.push_back(make("evidence_present", status::review, severity::warning,
                       fmt::format("{}: {}; a human must check dominance and contributor counts",
                                   evidence_name, e.problem)));
    return;
  }
  std::int64_t unmatched = 0;
  auto note = [&](std::int64_t before) {
    return unmatched > before
               ? fmt::format(" ({} at their row of {}: no row of the table has their labels)",
                             plural(unmatched - before, "cell", "cells"), evidence_name)
               : std::string();
  };
  if (e.unreadable.count)
    out.push_back(make("evidence_present", status::review, severity::warning,
                       fmt::format("{} of {} has a value that is not a number{}",
                                   plural(e.unreadable.count, "row", "rows"), evidence_name,
                                   listed_note(e.unreadable.count)),
                       resolve(e.unreadable, m, default_column, unmatched)));
  else
    out.push_back(
        make("evidence_present", status::pass, severity::warning,
             fmt::format("{} describes {}", evidence_name, plural(e.rows, "cell", "cells"))));

  std::int64_t before = unmatched;
  auto cells = resolve(e.below, m, default_column, unmatched);
  out.push_back(e.below.count
                    ? make("minimum_threshold", status::fail, severity::critical,
                           fmt::format("{} fewer than {} contributors{}{}",
                                       plural(e.below.count, "cell has", "cells have"), p.threshold,
                                       listed_note(e.below.count), note(before)),
                           std::move(cells))
                    : make("minimum_threshold", status::pass, severity::critical,
                           fmt::format("every cell has at least {} contributors", p.threshold)));

  auto dominance = [&](const char* name, const pending_list& fails, std::string rule) {
    const std::int64_t b = unmatched;
    if (fails.count) {
      std::string detail = fmt::format("{} {}{}", plural(fails.count, "cell", "cells"), rule,
                                       listed_note(fails.count));
      if (e.negatives.count)
        detail += fmt::format("; {} negative contributions",
                              plural(e.negatives.count, "cell has", "cells have"));
      auto cs = resolve(fails, m, default_column, unmatched);
      detail += note(b);
      out.push_back(make(name, status::fail, severity::critical, std::move(detail), std::move(cs)));
    } else if (e.negatives.count) {
      auto cs = resolve(e.negatives, m, default_column, unmatched);
      out.push_back(make(name, status::review, severity::critical,
                         fmt::format("dominance is not defined with negative contributions: {}{}; "
                                     "a human must check",
                                     plural(e.negatives.count, "cell has", "cells have"), note(b)),
                         std::move(cs)));
    } else {
      out.push_back(make(name, status::pass, severity::critical, fmt::format("no cell {}", rule)));
    }
  };
  dominance("dominance_nk", e.nk,
            fmt::format("dominated: its {} largest contributions are at least {} of its total",
                        p.nk_n, fmt::format("{}", p.nk_k)));
  dominance("dominance_p_ratio", e.p,
            fmt::format("fails the p% rule: (total - largest - second) / largest below {}",
                        fmt::format("{}", p.p_ratio)));
}

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::span<const std::string_view> known_statbarns() noexcept {
  return statbarn_names;
}

std::string evidence_filename(std::string_view table_filename) {
  const auto ext = detail::extension_of(table_filename);
  if (ext.empty()) return std::string(table_filename) + ".evidence.csv";
  const auto stem = table_filename.substr(0, table_filename.size() - ext.size());
  return std::string(stem) + ".evidence" + std::string(table_filename.substr(stem.size()));
}

object_findings check_object(object_input in, const policy& p) {
  object_findings f;
  f.object_id = in.object_id;
  f.filename = in.filename;
  f.statbarn = in.statbarn;
  auto& out = f.checks;
  const std::string ext = detail::extension_of(in.filename);
  const group g = group_of(in.statbarn);

  // Evidence first: the table pass then looks for the rows it names.
  std::optional<evidence_scan> evidence;
  if (g == group::magnitude && in.evidence) {
    evidence.emplace();
    evidence->pol = &p;
    const auto& ev = *in.evidence;
    if (!is_table_name(ev.filename)) {
      evidence->problem = "the evidence is not a .csv or .tsv table";
    } else if (!ev.content) {
      evidence->problem = "the evidence has no content";
    } else {
      try {
        csv_stream s(delimiter_of(ev.filename), sdc_limits::max_columns,
                     [&](std::span<const std::string_view> fields, std::size_t) {
                       evidence->record(fields);
                     });
        std::string head;
        pull_head(ev.content, head, sdc_limits::sniff_bytes);
        stream_table(ev.content, head, s);
        if (!evidence->header) evidence->problem = "the evidence is empty";
      } catch (const error& e) {
        if (e.code() != errc::invalid_argument) throw;
        evidence->problem = e.what();
      }
    }
  }

  std::string head;
  if (in.content) pull_head(in.content, head, sdc_limits::sniff_bytes);
  const bool empty = head.empty();

  out.push_back(
      empty ? make("file_not_empty", status::fail, severity::critical, "the object has 0 bytes")
            : make("file_not_empty", status::pass, severity::critical, "the object is not empty"));

  const bool blocked =
      !ext.empty() && std::find(p.blocked_extensions.begin(), p.blocked_extensions.end(), ext) !=
                          p.blocked_extensions.end();
  out.push_back(
      blocked ? make("extension_allowed", status::fail, severity::critical,
                     fmt::format("'{}' files may not leave the TRE (blocked_extensions)", ext))
              : make("extension_allowed", status::pass, severity::critical,
                     ext.empty() ? std::string("the file name has no extension")
                                 : fmt::format("'{}' is not a blocked extension", ext)));

  bool content_ok = false;
  if (empty) {
    out.push_back(make("content_type_consistent", status::not_applicable, severity::critical,
                       "the object has no bytes to inspect"));
  } else {
    auto r = content_check(in.filename, ext, in.output_type, detail::mime_type_of(head));
    content_ok = r.status == status::pass;
    out.push_back(std::move(r));
  }

  const bool justified = !trim_view(in.researcher_justification).empty();
  out.push_back(justified ? make("justification_present", status::pass, severity::warning,
                                 "the researcher gave a justification")
                          : make("justification_present", status::fail, severity::warning,
                                 "the researcher's justification is blank"));

  out.push_back(
      g != group::unknown
          ? make("statbarn_known", status::pass, severity::warning,
                 fmt::format("'{}' is an SDC statbarn", in.statbarn))
          : make(
                "statbarn_known", status::review, severity::warning,
                trim_view(in.statbarn).empty()
                    ? std::string("no statbarn was given; a human must classify the output")
                    : fmt::format("'{}' is not an SDC statbarn; a human must check", in.statbarn)));

  const bool readable_table = !empty && content_ok && is_table_name(in.filename) && in.content;
  auto not_a_table = [&](std::initializer_list<const char*> names) {
    const std::string why =
        empty ? std::string("the object is empty")
        : !content_ok
            ? std::string("the bytes are not what the name says")
            : fmt::format("'{}' is not a .csv or .tsv table; a human must check", in.filename);
    for (const char* name : names)
      out.push_back(make(name, empty || !content_ok ? status::not_applicable : status::review,
                         severity::critical, why));
  };
  auto scan = [&](table_scan& t) -> std::string {
    try {
      csv_stream s(delimiter_of(in.filename), sdc_limits::max_columns,
                   [&](std::span<const std::string_view> fields, std::size_t total) {
                     t.record(fields, total);
                   });
      stream_table(in.content, head, s);
    } catch (const error& e) {
      if (e.code() != errc::invalid_argument) throw;
      return e.what();
    }
    if (!t.header_seen()) return "the table has no header";
    if (t.too_wide())
      return fmt::format("the table has more than {} columns", sdc_limits::max_columns);
    return {};
  };

  switch (g) {
    case group::frequencies:
    case group::dof: {
      const bool freq = g == group::frequencies;
      if (!readable_table) {
        if (freq)
          not_a_table({"minimum_threshold", "zeros", "rounding", "recoverable_suppression",
                       "individual_records"});
        else
          not_a_table({"residual_dof"});
        break;
      }
      table_scan t(p, nullptr);
      if (auto problem = scan(t); !problem.empty()) {
        const std::string why = problem + "; a human must check";
        if (freq)
          for (const char* name : {"minimum_threshold", "zeros", "rounding",
                                   "recoverable_suppression", "individual_records"})
            out.push_back(make(name, status::review, severity::critical, why));
        else
          out.push_back(make("residual_dof", status::review, severity::critical, why));
        break;
      }
      if (freq)
        frequency_checks(t, p, out);
      else
        dof_checks(t, p, out);
      break;
    }
    case group::magnitude: {
      if (!evidence) {
        out.push_back(make("evidence_present", status::review, severity::warning,
                           fmt::format("no evidence table ({}) was supplied; a human must check "
                                       "contributor counts and dominance",
                                       evidence_filename(in.filename))));
        break;
      }
      std::string default_column = "value";
      detail::row_match match;
      bool matched = false;
      if (evidence->problem.empty() && readable_table && !evidence_keys(*evidence).empty()) {
        match.columns = evidence->label_names;
        for (auto& k : evidence_keys(*evidence)) match.rows.emplace(std::move(k), 0);
        table_scan t(p, &match);
        if (scan(t).empty()) {
          matched = true;
          if (!t.columns().empty()) default_column = t.columns().back().name;
        }
      }
      magnitude_checks(*evidence, matched ? &match : nullptr, default_column, in.evidence->filename,
                       p, out);
      break;
    }
    case group::review_only:
      out.push_back(make("manual_review", status::review, severity::warning,
                         fmt::format("{} outputs can disclose by class in ways the output alone "
                                     "does not show; a human must check",
                                     in.statbarn)));
      break;
    case group::unknown: break;
  }

  f.recommendation = decide(std::span<const check_result>(out));
  return f;
}

review_decision decide(std::span<const check_result> checks) noexcept {
  bool warn = false;
  for (const auto& c : checks) {
    if (c.status == status::fail && c.severity == severity::critical)
      return review_decision::escalated;
    if (c.status == status::fail || c.status == status::review) warn = true;
  }
  return warn ? review_decision::changes_requested : review_decision::approved;
}

review_decision decide(std::span<const object_findings> objects) noexcept {
  bool warn = false;
  for (const auto& o : objects) {
    const auto d = decide(std::span<const check_result>(o.checks));
    if (d == review_decision::escalated) return d;
    if (d != review_decision::approved) warn = true;
  }
  return warn ? review_decision::changes_requested : review_decision::approved;
}

}  // namespace trevor::sdc
