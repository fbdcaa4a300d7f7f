#pragma once
// trevor::sdc — the built-in agent's statistical disclosure control checks.
//
// Contract (libtrevor/README.md, "SDC checks"):
//  - Pure: bytes and metadata in, findings out. No database, no clock, no
//    file system (except policy_config::load, which reads the policy file).
//  - Streaming: an object's bytes are pulled through a byte_reader once.
//    Memory does not grow with the object: the table checks keep per-column
//    state (bounded by sdc_limits::max_columns), at most `max_cells` cells
//    listed per check, and, for recoverable_suppression only, the positions
//    of non-numeric cells and Total/All labels of the first `max_rows` data
//    rows (at most sdc_limits::max_kept_positions of them, 4 bytes each).
//    A table with more than `max_rows` data rows fails individual_records;
//    its row data is dropped from then on.
//  - Every check of §4 appears in an object's findings when it applies,
//    with a status, a severity, a detail sentence and, for table checks,
//    the offending cells ({row, column}: 1-based data row, header name).
//  - Failures of the machinery (an unreadable blob, libmagic missing its
//    database) throw; a malformed table is a finding (`review`), not an
//    exception.
//  - The policy's identity is the SHA-256 of canonical_json(): keys sorted,
//    no insignificant whitespace, integers as integers, reals in their
//    shortest round-trip form (0.9 as `0.9`), blocked_extensions lower case
//    with a leading dot, sorted and unique.
//
// Thread-safety: every function may be called concurrently; policy_config is
// immutable once parsed.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trevor/blob_store.hpp"
#include "trevor/enums.hpp"
#include "trevor/export.hpp"

namespace trevor {
namespace sdc {

enum class status { pass, fail, review, not_applicable };
enum class severity { critical, warning };

}  // namespace sdc

template <>
struct enum_names<sdc::status> {
  static constexpr std::string_view what = "check status";
  static constexpr std::array<std::string_view, 4> names{"pass", "fail", "review",
                                                         "not_applicable"};
};
template <>
struct enum_names<sdc::severity> {
  static constexpr std::string_view what = "check severity";
  static constexpr std::array<std::string_view, 2> names{"critical", "warning"};
};

namespace sdc {

/// Hard bounds of the streaming table reader, independent of the policy.
struct sdc_limits {
  /// A header with more columns is not checked (table checks `review`).
  static constexpr std::size_t max_columns = 2000;
  /// Longest field, in bytes (libcsv's buffer is refused more).
  static constexpr std::size_t max_field_bytes = std::size_t{1} << 20;
  /// Cells listed per check (the detail sentence gives the full count).
  static constexpr std::size_t max_cells = 100;
  /// Positions kept for recoverable_suppression; beyond, that check is `review`.
  static constexpr std::size_t max_kept_positions = std::size_t{1} << 20;
  /// Bytes handed to libmagic for content_type_consistent.
  static constexpr std::size_t sniff_bytes = 64 * 1024;
};

/// The TRE's risk appetite (§3), after defaults and overrides.
struct policy {
  std::int64_t threshold = 10;
  bool zeros_are_disclosive = true;
  std::optional<std::int64_t> round_base;
  std::int64_t nk_n = 2;
  double nk_k = 0.90;
  double p_ratio = 0.10;
  std::int64_t dof_threshold = 10;
  std::int64_t max_rows = 1000;
  /// Lower case, leading dot, sorted, unique.
  std::vector<std::string> blocked_extensions{".db",  ".dta",   ".feather", ".h5",  ".parquet",
                                              ".pkl", ".rdata", ".rds",     ".sav", ".sqlite"};

  bool operator==(const policy&) const = default;
};

/// Some keys of a policy, as a project's entry under `projects` sets them.
struct policy_overrides {
  std::optional<std::int64_t> threshold;
  std::optional<bool> zeros_are_disclosive;
  std::optional<std::optional<std::int64_t>> round_base;  // set to null or to a base
  std::optional<std::int64_t> nk_n;
  std::optional<double> nk_k;
  std::optional<double> p_ratio;
  std::optional<std::int64_t> dof_threshold;
  std::optional<std::int64_t> max_rows;
  std::optional<std::vector<std::string>> blocked_extensions;

  bool operator==(const policy_overrides&) const = default;
};

/// `base` with the keys `o` sets replaced.
TREVOR_EXPORT policy apply(policy base, const policy_overrides& o);

/// A policy file (TREVOR_SDC_POLICY): the keys of §3 at the top level,
/// `projects` mapping a project id or name to overrides of those keys.
class TREVOR_EXPORT policy_config {
 public:
  /// The defaults, no project overrides.
  policy_config() = default;

  /// Parses JSON (text whose first non-blank character is `{`, read with
  /// Boost.JSON) or YAML (anything else, read with yaml-cpp; a quoted YAML
  /// scalar is a string, a plain one is typed by the YAML 1.2 core schema).
  /// Throws error(invalid_argument) naming the first offending key and what
  /// was wrong with it: an unknown key, a wrong type, a value out of range,
  /// or text that is not JSON or YAML. An empty document is the defaults.
  static policy_config parse(std::string_view text);

  /// parse() of the file at `path`; error(not_found) when it cannot be read.
  static policy_config load(const std::filesystem::path& path);

  const policy& defaults() const noexcept { return base_; }
  const std::map<std::string, policy_overrides>& projects() const noexcept { return projects_; }

  /// The effective policy of a project: the defaults, then the overrides
  /// listed under its name, then those under its id (ids compare without
  /// regard to case), so an id entry wins over a name entry.
  policy effective(std::string_view project_id, std::string_view project_name = {}) const;

 private:
  policy base_;
  std::map<std::string, policy_overrides> projects_;
};

/// The canonical JSON text of `p` (see the contract above).
TREVOR_EXPORT std::string canonical_json(const policy& p);
/// Lower-case hex SHA-256 of canonical_json(p).
TREVOR_EXPORT std::string policy_id(const policy& p);
/// The policy as findings.policy holds it: {"id": policy_id, ...the keys}.
TREVOR_EXPORT std::string policy_document(const policy& p);

/// The SDC statbarns of §4 (case-sensitive names, as researchers choose them).
TREVOR_EXPORT std::span<const std::string_view> known_statbarns() noexcept;

/// The name of the evidence object for a magnitude table ("t.csv" →
/// "t.evidence.csv"): the supporting object the worker passes as evidence.
TREVOR_EXPORT std::string evidence_filename(std::string_view table_filename);

struct cell {
  std::int64_t row = 0;  // 1-based data row (the header is not counted)
  std::string column;    // header name

  bool operator==(const cell&) const = default;
};

struct check_result {
  std::string check;  // "minimum_threshold", ...
  sdc::status status = status::pass;
  sdc::severity severity = severity::critical;
  std::string detail;       // one sentence
  std::vector<cell> cells;  // at most sdc_limits::max_cells, in row order
};

/// A supporting evidence table for a magnitude table (§4 "Evidence").
///
/// Its header holds label columns named as the table's, optionally `column`
/// (the table's cell column the row describes; without it, the table's last
/// column), and `count`, `sum`, `max`, `top2_sum`, `topn_sum`, `negatives` in
/// any order; one row per cell. Cells found failing are reported at the row
/// of the table whose labels match (else at the evidence's own row, as the
/// detail sentence then says).
struct evidence_input {
  std::string filename;  // "t.evidence.csv"; .tsv is read tab-separated
  byte_reader content;
};

struct object_input {
  std::string object_id;
  std::string filename;
  trevor::output_type output_type = output_type::other;
  std::string statbarn;
  std::string researcher_justification;
  byte_reader content;
  std::optional<evidence_input> evidence;
};

struct object_findings {
  std::string object_id;
  std::string filename;
  std::string statbarn;
  review_decision recommendation = review_decision::approved;
  std::vector<check_result> checks;
};

/// Runs every check of §4 that applies to the object, reading its bytes
/// (and its evidence's) once. Throws what the readers throw and
/// error(internal) when libmagic cannot be initialised.
TREVOR_EXPORT object_findings check_object(object_input in, const policy& p);

/// §5: any critical fail → escalated; else any warning fail or any review →
/// changes_requested; else approved.
TREVOR_EXPORT review_decision decide(std::span<const check_result> checks) noexcept;
/// The same rule over every check of every object.
TREVOR_EXPORT review_decision decide(std::span<const object_findings> objects) noexcept;

/// One sentence per object that did not pass ("t.csv (escalated):
/// minimum_threshold failed, 2 cells below 10; zeros failed, 1 cell is 0.").
TREVOR_EXPORT std::vector<std::string> summary_sentences(std::span<const object_findings> objects);
/// summary_sentences() joined by newlines, or "All N objects passed the SDC
/// checks." when there is none.
TREVOR_EXPORT std::string summary(std::span<const object_findings> objects);

/// The findings JSON of §5: {"policy": policy_document(p), "objects": [...]}
/// with every object once and every check that applied to it; every check
/// has `cells` (empty when it names none).
TREVOR_EXPORT std::string findings_json(const policy& p, std::span<const object_findings> objects);

}  // namespace sdc
}  // namespace trevor
