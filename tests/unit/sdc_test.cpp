// The built-in agent's SDC checks (libtrevor/README.md, "SDC checks"): every check passing and
// failing on small hand-made tables, the dominance formulas at their
// boundaries, recoverable suppression, content types, the policy's loading,
// overrides and identity, the findings JSON, and streaming in bounded memory.
// No database.
#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "sdc/table.hpp"
#include "support.hpp"
#include "trevor/sdc.hpp"

#if defined(__SANITIZE_ADDRESS__)
// From AddressSanitizer's runtime (GCC ships no header for it).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace trevor {
namespace {

using namespace trevor::sdc;
using test::thrown_by;

struct object {
  std::string filename = "t.csv";
  std::string content;
  std::string statbarn = "Frequencies";
  output_type type = output_type::tabular;
  std::string justification = "Needed for the paper's table 2.";
  std::optional<std::string> evidence;  // t.evidence.csv's content
};

object_findings run(const object& o, const policy& p = {}) {
  object_input in;
  in.object_id = "0190f3a4-0000-7000-8000-0000000000aa";
  in.filename = o.filename;
  in.output_type = o.type;
  in.statbarn = o.statbarn;
  in.researcher_justification = o.justification;
  in.content = string_reader(o.content);
  if (o.evidence)
    in.evidence = evidence_input{evidence_filename(o.filename), string_reader(*o.evidence)};
  return check_object(std::move(in), p);
}

const check_result& get(const object_findings& f, std::string_view name) {
  auto it = std::find_if(f.checks.begin(), f.checks.end(),
                         [&](const check_result& c) { return c.check == name; });
  if (it == f.checks.end()) FAIL("no check " << name);
  return *it;
}

bool has(const object_findings& f, std::string_view name) {
  return std::any_of(f.checks.begin(), f.checks.end(),
                     [&](const check_result& c) { return c.check == name; });
}

std::vector<cell> cells(std::initializer_list<std::pair<std::int64_t, const char*>> list) {
  std::vector<cell> out;
  for (const auto& [r, c] : list) out.push_back({r, c});
  return out;
}

const std::string zip_bytes(
    "\x50\x4b\x03\x04\x14\x00\x00\x00\x00\x00\x78\x51\x82\x5d\x23\xdf\x72\x00\x08\x00\x00\x00\x08"
    "\x00\x00\x00\x05\x00\x00\x00\x61\x2e\x63\x73\x76\x78\x2c\x79\x0a\x31\x2c\x32\x0a\x50\x4b\x01"
    "\x02\x14\x03\x14\x00\x00\x00\x00\x00\x78\x51\x82\x5d\x23\xdf\x72\x00\x08\x00\x00\x00\x08\x00"
    "\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x00\x00\x00\x00\x61\x2e\x63"
    "\x73\x76\x50\x4b\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00\x33\x00\x00\x00\x2b\x00\x00\x00\x00"
    "\x00",
    116);

std::string sqlite_bytes() {
  std::string s(
      "\x53\x51\x4c\x69\x74\x65\x20\x66\x6f\x72\x6d\x61\x74\x20\x33\x00\x10\x00\x01\x01\x00\x40\x20"
      "\x20\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00"
      "\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x01\x00\x2e\x63\x01",
      100);
  s.resize(8192, '\0');
  return s;
}

const std::string png_bytes(
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00"
    "\x01\x08\x00\x00\x00\x00\x3a\x7e\x9b\x55\x00\x00\x00\x0a\x49\x44\x41\x54\x78\x9c\x63\x60\x00"
    "\x00\x00\x02\x00\x01\x48\xaf\xa4\x71\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82",
    67);

const std::string good_table =
    "sex,age,count\n"
    "female,0-17,25\n"
    "female,18+,40\n"
    "male,0-17,30\n"
    "male,18+,55\n";

// --- every object ---------------------------------------------------------------

TEST_CASE("sdc: a clean frequency table passes every check and is approved") {
  const auto f = run({.content = good_table});
  for (const char* name : {"file_not_empty", "extension_allowed", "content_type_consistent",
                           "justification_present", "statbarn_known", "minimum_threshold", "zeros",
                           "recoverable_suppression", "individual_records"})
    CHECK_MESSAGE(get(f, name).status == status::pass, name);
  CHECK(get(f, "rounding").status == status::not_applicable);
  CHECK(f.recommendation == review_decision::approved);
  CHECK(f.object_id == "0190f3a4-0000-7000-8000-0000000000aa");
  CHECK(f.statbarn == "Frequencies");
}

TEST_CASE("sdc: an empty object fails file_not_empty and is escalated") {
  const auto f = run({.content = ""});
  CHECK(get(f, "file_not_empty").status == status::fail);
  CHECK(get(f, "file_not_empty").severity == severity::critical);
  CHECK(get(f, "content_type_consistent").status == status::not_applicable);
  CHECK(get(f, "minimum_threshold").status == status::not_applicable);
  CHECK(f.recommendation == review_decision::escalated);
}

TEST_CASE("sdc: blocked extensions fail whatever their case") {
  policy p;
  auto f = run({.filename = "cohort.SQLite",
                .content = good_table,
                .statbarn = "Position",
                .type = output_type::other},
               p);
  CHECK(get(f, "extension_allowed").status == status::fail);
  CHECK(get(f, "extension_allowed").detail.find(".sqlite") != std::string::npos);
  CHECK(f.recommendation == review_decision::escalated);
  f = run({.filename = "notes.txt",
           .content = "some words\n",
           .statbarn = "Position",
           .type = output_type::report});
  CHECK(get(f, "extension_allowed").status == status::pass);
  p.blocked_extensions = {".txt"};
  f = run({.filename = "notes.txt",
           .content = "some words\n",
           .statbarn = "Position",
           .type = output_type::report},
          p);
  CHECK(get(f, "extension_allowed").status == status::fail);
}

TEST_CASE("sdc: a blank justification is a warning; an unknown statbarn needs review") {
  auto f = run({.content = good_table, .justification = "  \n\t"});
  CHECK(get(f, "justification_present").status == status::fail);
  CHECK(get(f, "justification_present").severity == severity::warning);
  CHECK(f.recommendation == review_decision::changes_requested);

  f = run({.content = good_table, .statbarn = "Histogramz"});
  CHECK(get(f, "statbarn_known").status == status::review);
  CHECK(get(f, "statbarn_known").detail.find("Histogramz") != std::string::npos);
  CHECK_FALSE(has(f, "minimum_threshold"));
  CHECK(f.recommendation == review_decision::changes_requested);
  f = run({.content = good_table, .statbarn = ""});
  CHECK(get(f, "statbarn_known").status == status::review);
  CHECK(known_statbarns().size() == 14);
}

TEST_CASE(
    "sdc: content types — a zip or an SQLite file named .csv, a figure that is not an image") {
  auto f = run({.content = zip_bytes});
  CHECK(get(f, "content_type_consistent").status == status::fail);
  CHECK(get(f, "content_type_consistent").detail.find("application/zip") != std::string::npos);
  CHECK(get(f, "minimum_threshold").status == status::not_applicable);
  CHECK(f.recommendation == review_decision::escalated);

  f = run({.content = sqlite_bytes()});
  CHECK(get(f, "content_type_consistent").status == status::fail);
  CHECK(get(f, "content_type_consistent").detail.find("sqlite") != std::string::npos);

  // A figure must be an image or a PDF.
  f = run({.filename = "plot.png",
           .content = "x,y\n1,2\n",
           .statbarn = "Position",
           .type = output_type::figure});
  CHECK(get(f, "content_type_consistent").status == status::fail);
  CHECK(get(f, "content_type_consistent").detail.find("figure") != std::string::npos);
  f = run({.filename = "plot.pdf",
           .content = "just text\n",
           .statbarn = "Position",
           .type = output_type::figure});
  CHECK(get(f, "content_type_consistent").status == status::fail);
  f = run({.filename = "plot.png",
           .content = png_bytes,
           .statbarn = "Position",
           .type = output_type::figure});
  CHECK(get(f, "content_type_consistent").status == status::pass);
  // A tabular output that is an image, under a name that says nothing.
  f = run({.filename = "table", .content = png_bytes, .type = output_type::tabular});
  CHECK(get(f, "content_type_consistent").status == status::fail);
  // A frequency table as an image: the table checks cannot run, a human looks.
  f = run({.filename = "hist.png", .content = png_bytes, .type = output_type::figure});
  CHECK(get(f, "content_type_consistent").status == status::pass);
  CHECK(get(f, "minimum_threshold").status == status::review);
  CHECK(f.recommendation == review_decision::changes_requested);
}

// --- frequency tables ----------------------------------------------------------------

TEST_CASE("sdc: minimum_threshold names the cells below the threshold") {
  const auto f = run({.content = "region,female,male\n"
                                 "north,12,3\n"
                                 "south,9,40\n"
                                 "east,10,11\n"});
  const auto& c = get(f, "minimum_threshold");
  CHECK(c.status == status::fail);
  CHECK(c.detail == "2 cells below 10");
  CHECK(c.cells == cells({{1, "male"}, {2, "female"}}));
  CHECK(f.recommendation == review_decision::escalated);
  policy p;
  p.threshold = 3;
  CHECK(
      get(run({.content = "region,female,male\nnorth,12,3\nsouth,9,40\n"}, p), "minimum_threshold")
          .status == status::pass);
}

TEST_CASE("sdc: zeros fail unless the policy says they are not disclosive") {
  const object o{.content = "group,a,b\nx,0,20\ny,15,0\n"};
  auto f = run(o);
  CHECK(get(f, "zeros").status == status::fail);
  CHECK(get(f, "zeros").cells == cells({{1, "a"}, {2, "b"}}));
  CHECK(get(f, "minimum_threshold").status == status::pass);  // 0 is not below the threshold
  policy p;
  p.zeros_are_disclosive = false;
  f = run(o, p);
  CHECK(get(f, "zeros").status == status::not_applicable);
  CHECK(f.recommendation == review_decision::approved);
}

TEST_CASE("sdc: rounding checks every count against round_base") {
  policy p;
  p.round_base = 5;
  auto f = run({.content = "group,a,b\nx,15,20\ny,25,12\nz,30,12.5\n"}, p);
  CHECK(get(f, "rounding").status == status::fail);
  CHECK(get(f, "rounding").cells == cells({{2, "b"}, {3, "b"}}));
  f = run({.content = "group,a,b\nx,15,20\ny,25,10\n"}, p);
  CHECK(get(f, "rounding").status == status::pass);
}

TEST_CASE("sdc: label columns are the leading non-numeric ones; suppressed markers are cells") {
  // "year" is all numbers: it is a cell column (and passes, 2019 >= 10).
  // The markers *, x, .., -, NA, <5, ~ and blank are suppressed, not text.
  const auto f = run({.content = "area,band,a,b\n"
                                 "n,0-4,*,12\n"
                                 "n,5-9,x,..\n"
                                 "s,0-4,-,NA\n"
                                 "s,5-9,<5,~\n"
                                 "w,5-9,,10\n"});
  CHECK(get(f, "minimum_threshold").status == status::pass);
  CHECK(get(f, "zeros").status == status::pass);
  // A middle column with text is a cell column holding text: the label
  // columns stop at the first numeric column.
  const policy defaults;
  detail::table_scan t(defaults, nullptr);
  const std::vector<std::string_view> header{"a", "b", "c"}, r1{"g", "1", "y"};
  t.record(header, 3);
  t.record(r1, 3);
  CHECK(t.label_columns() == 1);
  CHECK(detail::is_suppressed("<10"));
  CHECK_FALSE(detail::is_suppressed("<a"));
  CHECK_FALSE(detail::number_of("nan"));
  CHECK_FALSE(detail::number_of("inf"));
  CHECK(detail::number_of("+12.5") == 12.5);
  CHECK(detail::number_of("-3") == -3);
}

TEST_CASE("sdc: individual_records fails a table longer than max_rows") {
  std::string body = "id,value\n";
  for (int i = 0; i < 21; ++i) body += fmt::format("p{},{}\n", i, 10 + i);
  policy p;
  p.max_rows = 20;
  auto f = run({.content = body}, p);
  CHECK(get(f, "individual_records").status == status::fail);
  CHECK(get(f, "individual_records").detail.find("21") != std::string::npos);
  CHECK(get(f, "recoverable_suppression").status == status::not_applicable);
  p.max_rows = 21;
  f = run({.content = body}, p);
  CHECK(get(f, "individual_records").status == status::pass);
}

TEST_CASE("sdc: TSV tables are read tab-separated; quoted fields per RFC 4180") {
  auto f = run({.filename = "t.tsv", .content = "sex\tcount\n\"fe\tmale\"\t25\nmale\t4\n"});
  CHECK(get(f, "minimum_threshold").cells == cells({{2, "count"}}));
  f = run({.content = "\xEF\xBB\xBF\"region, full\",n\r\n\"a \"\"b\"\"\",5\r\n"});
  CHECK(get(f, "minimum_threshold").cells == cells({{1, "n"}}));
  // Not RFC 4180: a stray quote. The table checks cannot decide.
  f = run({.content = "a,n\nx\"y,5\n\"z,4\n"});
  CHECK(get(f, "minimum_threshold").status == status::review);
  CHECK(get(f, "minimum_threshold").detail.find("not valid CSV") != std::string::npos);
  CHECK(f.recommendation == review_decision::changes_requested);
}

// --- recoverable suppression ---------------------------------------------------------

TEST_CASE("sdc: one suppressed cell in a row with a total is recoverable") {
  const auto f = run({.content = "region,female,male,Total\n"
                                 "north,12,*,30\n"
                                 "south,15,20,35\n"});
  const auto& c = get(f, "recoverable_suppression");
  CHECK(c.status == status::fail);
  CHECK(c.cells == cells({{1, "male"}}));
  CHECK(f.recommendation == review_decision::escalated);
}

TEST_CASE(
    "sdc: a Total row makes a column's only suppressed cell recoverable; so is a suppressed "
    "total") {
  auto f = run({.content = "region,female,male\n"
                           "north,12,40\n"
                           "south,x,20\n"
                           "Total,30,60\n"});
  CHECK(get(f, "recoverable_suppression").cells == cells({{2, "female"}}));
  // The total itself suppressed, every other cell of its column shown.
  f = run({.content = "region,female,male\n"
                      "north,12,40\n"
                      "south,18,20\n"
                      "All,*,60\n"});
  CHECK(get(f, "recoverable_suppression").cells == cells({{3, "female"}}));
}

TEST_CASE("sdc: secondary suppression protects; recovery through a row then a column is found") {
  // Two suppressed cells in every line: nothing can be recovered.
  auto f = run({.content = "region,a,b,c,Total\n"
                           "n,*,*,20,50\n"
                           "s,*,*,25,60\n"
                           "Total,40,30,45,110\n"});
  CHECK(get(f, "recoverable_suppression").status == status::pass);
  CHECK(get(f, "recoverable_suppression").detail.find("4 cells suppressed, none") !=
        std::string::npos);
  // Row n has one unknown (a); once a is known, column a has one (row s) and
  // then row s has one (b), then column b row n... all four fall.
  f = run({.content = "region,a,b,Total\n"
                      "n,*,20,50\n"
                      "s,*,*,60\n"
                      "Total,40,*,110\n"});
  const auto& c = get(f, "recoverable_suppression");
  CHECK(c.status == status::fail);
  CHECK(c.cells == cells({{1, "a"}, {2, "a"}, {2, "b"}, {3, "b"}}));
  // No totals at all: a lone suppressed cell is safe.
  f = run({.content = "region,a,b\nn,*,20\ns,15,25\n"});
  CHECK(get(f, "recoverable_suppression").status == status::pass);
  CHECK(get(f, "recoverable_suppression").detail.find("no Total/All") != std::string::npos);
}

TEST_CASE("sdc: sub-total rows do not make false column equations") {
  // Two label columns, with sub-totals per area: the column equation would
  // double count, so only the row equations (none here) are used.
  const auto f = run({.content = "area,sex,n\n"
                                 "n,f,*\n"
                                 "n,m,20\n"
                                 "n,All,35\n"
                                 "s,f,30\n"
                                 "s,m,25\n"
                                 "s,All,55\n"});
  CHECK(get(f, "recoverable_suppression").status == status::pass);
}

// --- magnitude tables and evidence ------------------------------------------------------

const std::string magnitude_table = "region,mean_income\nnorth,30000\nsouth,31000\n";

std::string evidence_row(const char* region, double count, double sum, double max, double top2,
                         double topn, double negatives) {
  return fmt::format("{},{},{},{},{},{},{}\n", region, count, sum, max, top2, topn, negatives);
}
const std::string evidence_header = "region,count,sum,max,top2_sum,topn_sum,negatives\n";

TEST_CASE("sdc: a magnitude table without evidence needs review") {
  const auto f =
      run({.filename = "income.csv", .content = magnitude_table, .statbarn = "LinearAggregations"});
  CHECK(get(f, "evidence_present").status == status::review);
  CHECK(get(f, "evidence_present").detail.find("income.evidence.csv") != std::string::npos);
  CHECK_FALSE(has(f, "dominance_nk"));
  CHECK(f.recommendation == review_decision::changes_requested);
  CHECK(evidence_filename("a/b.tsv") == "a/b.evidence.tsv");
  CHECK(evidence_filename("plain") == "plain.evidence.csv");
}

TEST_CASE("sdc: dominance_nk at and around k, minimum_threshold on contributor counts") {
  // k = 0.9, n = 2: topn_sum / sum >= 0.9 fails.
  const auto f = run({.filename = "income.csv",
                      .content = magnitude_table,
                      .statbarn = "LinearAggregations",
                      .evidence = evidence_header + evidence_row("north", 12, 100, 50, 90, 90, 0) +
                                  evidence_row("south", 12, 100, 50, 89.9, 89.9, 0)});
  CHECK(get(f, "evidence_present").status == status::pass);
  const auto& nk = get(f, "dominance_nk");
  CHECK(nk.status == status::fail);
  CHECK(nk.cells == cells({{1, "mean_income"}}));  // exactly 0.9 fails; 0.899 passes
  CHECK(get(f, "minimum_threshold").status == status::pass);
  CHECK(f.recommendation == review_decision::escalated);

  const auto g =
      run({.filename = "income.csv",
           .content = magnitude_table,
           .statbarn = "CalculatedRatios",
           .evidence = evidence_header + evidence_row("north", 9, 1000, 100, 200, 200, 0) +
                       evidence_row("south", 10, 1000, 100, 200, 200, 0)});
  CHECK(get(g, "minimum_threshold").status == status::fail);
  CHECK(get(g, "minimum_threshold").cells == cells({{1, "mean_income"}}));
  CHECK(get(g, "dominance_nk").status == status::pass);
}

TEST_CASE("sdc: dominance_p_ratio at and around p; a largest contribution of 0 passes") {
  // p = 0.1: (S - x1 - x2) / x1 < 0.1 fails. S = 110, x1 = 100, x2 = 0: 0.1 passes;
  // S = 109.9: 0.099 fails; x1 = 0 passes.
  policy p;
  p.nk_k = 1;  // keep (n,k) out of the way: topn / S >= 1 only when n covers all
  const auto f =
      run({.filename = "income.csv",
           .content = "region,v\nnorth,1\nsouth,2\neast,3\n",
           .statbarn = "NonLinearConcentrationRatios",
           .evidence = evidence_header + evidence_row("north", 11, 110, 100, 100, 100, 0) +
                       evidence_row("south", 11, 109.9, 100, 100, 100, 0) +
                       evidence_row("east", 11, 0, 0, 0, 0, 0)},
          p);
  const auto& pr = get(f, "dominance_p_ratio");
  CHECK(pr.status == status::fail);
  CHECK(pr.cells == cells({{2, "v"}}));
  CHECK(get(f, "dominance_nk").status == status::pass);
  // Two contributors: the second reveals the first. S = 100, x1 = 60, x2 = 40: 0 < 0.1.
  const auto g =
      run({.filename = "income.csv",
           .content = "region,v\nnorth,1\n",
           .statbarn = "LinearAggregations",
           .evidence = evidence_header + evidence_row("north", 10, 100, 60, 100, 100, 0)});
  CHECK(get(g, "dominance_p_ratio").status == status::fail);
  CHECK(get(g, "dominance_nk").status == status::fail);  // 100/100 >= 0.9
}

TEST_CASE("sdc: negative contributions make dominance a matter for review") {
  const auto f = run({.filename = "income.csv",
                      .content = magnitude_table,
                      .statbarn = "LinearAggregations",
                      .evidence = evidence_header + evidence_row("north", 20, 100, 30, 50, 50, 2) +
                                  evidence_row("south", 20, 1000, 100, 190, 190, 0)});
  CHECK(get(f, "dominance_nk").status == status::review);
  CHECK(get(f, "dominance_nk").cells == cells({{1, "mean_income"}}));
  CHECK(get(f, "dominance_p_ratio").status == status::review);
  CHECK(f.recommendation == review_decision::changes_requested);
}

TEST_CASE("sdc: evidence with a column per cell, labels matched to the table's rows") {
  // Evidence rows in another order than the table; a `column` column names
  // the table's cell column.
  const std::string table = "sex,age,a,b\nf,young,100,200\nm,young,300,400\nf,old,500,600\n";
  const std::string ev =
      "age,sex,column,count,sum,max,top2_sum,topn_sum,negatives\n"
      "old,f,b,15,600,590,595,595,0\n"
      "young,f,a,15,100,20,30,30,0\n"
      "young,m,b,3,400,20,30,30,0\n"
      "nowhere,f,a,1,10,10,10,10,0\n";
  const auto f = run(
      {.filename = "t.csv", .content = table, .statbarn = "LinearAggregations", .evidence = ev});
  CHECK(get(f, "dominance_nk").cells == cells({{3, "b"}, {4, "a"}}));
  CHECK(get(f, "dominance_nk").detail.find("1 cell at their row of t.evidence.csv") !=
        std::string::npos);
  CHECK(get(f, "minimum_threshold").cells == cells({{2, "b"}, {4, "a"}}));
  // Evidence lacking columns: review, naming them.
  const auto g = run({.filename = "t.csv",
                      .content = table,
                      .statbarn = "LinearAggregations",
                      .evidence = "sex,age,count,sum\nf,young,12,100\n"});
  CHECK(get(g, "evidence_present").status == status::review);
  CHECK(get(g, "evidence_present").detail.find("max, top2_sum, topn_sum, negatives") !=
        std::string::npos);
  CHECK_FALSE(has(g, "dominance_nk"));
}

// --- degrees of freedom, review-only statbarns ---------------------------------------------

TEST_CASE("sdc: residual_dof reads dof, df, df_resid or residual_dof") {
  auto f = run({.filename = "model.csv",
                .content = "term,estimate,df_resid\nx1,0.5,120\nx2,0.3,9\n",
                .statbarn = "StatisticalHypothesisTests"});
  CHECK(get(f, "residual_dof").status == status::fail);
  CHECK(get(f, "residual_dof").cells == cells({{2, "df_resid"}}));
  f = run({.filename = "model.csv",
           .content = "term,estimate,DF\nx1,0.5,10\n",
           .statbarn = "CorrelationCoefficients"});
  CHECK(get(f, "residual_dof").status == status::pass);
  f = run({.filename = "model.csv", .content = "term,estimate\nx1,0.5\n", .statbarn = "Shape"});
  CHECK(get(f, "residual_dof").status == status::review);
  CHECK_FALSE(has(f, "minimum_threshold"));
}

TEST_CASE("sdc: review-only statbarns always ask a human") {
  for (const char* s :
       {"Position", "Endpoints", "Mode", "GiniCoefficient", "Clusters", "LinkedMultilevelTables"}) {
    const auto f = run({.content = good_table, .statbarn = s});
    CHECK(get(f, "manual_review").status == status::review);
    CHECK(f.recommendation == review_decision::changes_requested);
  }
}

// --- decision, summary, findings JSON ---------------------------------------------------

TEST_CASE("sdc: the request-level decision, the summary and the findings JSON") {
  const auto ok = run({.filename = "ok.csv", .content = good_table});
  const auto warn = run({.filename = "warn.csv", .content = good_table, .justification = ""});
  const auto bad = run({.filename = "bad.csv", .content = "g,n\na,3\n"});
  std::vector<object_findings> all{ok};
  CHECK(decide(std::span<const object_findings>(all)) == review_decision::approved);
  CHECK(summary(all) == "The object passed the SDC checks.");
  all.push_back(warn);
  CHECK(decide(std::span<const object_findings>(all)) == review_decision::changes_requested);
  all.push_back(bad);
  CHECK(decide(std::span<const object_findings>(all)) == review_decision::escalated);
  const auto sentences = summary_sentences(all);
  REQUIRE(sentences.size() == 2);
  CHECK(sentences[0].starts_with("warn.csv (changes_requested): justification_present failed"));
  CHECK(sentences[1] == "bad.csv (escalated): minimum_threshold failed, 1 cell below 10.");

  const policy p;
  const auto doc = boost::json::parse(findings_json(p, all));
  const auto& pol = doc.at("policy").as_object();
  CHECK(pol.at("id").as_string() == policy_id(p));
  CHECK(pol.at("threshold").as_int64() == 10);
  CHECK(pol.at("nk_k").as_double() == 0.9);
  CHECK(pol.at("round_base").is_null());
  const auto& objects = doc.at("objects").as_array();
  REQUIRE(objects.size() == 3);
  const auto& b = objects[2].as_object();
  CHECK(b.at("filename").as_string() == "bad.csv");
  CHECK(b.at("statbarn").as_string() == "Frequencies");
  CHECK(b.at("recommendation").as_string() == "escalated");
  bool found = false;
  for (const auto& c : b.at("checks").as_array()) {
    if (c.at("check").as_string() != "minimum_threshold") continue;
    found = true;
    CHECK(c.at("status").as_string() == "fail");
    CHECK(c.at("severity").as_string() == "critical");
    CHECK(c.at("detail").as_string() == "1 cell below 10");
    CHECK(boost::json::serialize(c.at("cells")) == R"([{"row":1,"column":"n"}])");
  }
  CHECK(found);
  CHECK(findings_json(p, all).find("\"nk_k\":0.9,") != std::string::npos);
}

// --- policy ------------------------------------------------------------------------------

TEST_CASE("sdc policy: defaults, canonical JSON and identity") {
  const policy p;
  CHECK(canonical_json(p) ==
        R"({"blocked_extensions":[".db",".dta",".feather",".h5",".parquet",".pkl",".rdata",".rds",)"
        R"(".sav",".sqlite"],"dof_threshold":10,"max_rows":1000,"nk_k":0.9,"nk_n":2,)"
        R"("p_ratio":0.1,"round_base":null,"threshold":10,"zeros_are_disclosive":true})");
  CHECK(policy_id(p).size() == 64);
  CHECK(policy_config::parse("").defaults() == p);
  CHECK(policy_config::parse("{}").defaults() == p);
  CHECK(policy_document(p).starts_with("{\"id\":\"" + policy_id(p) + "\",\"blocked_extensions\""));
}

TEST_CASE("sdc policy: the same policy in JSON or YAML, in any key order, has one identity") {
  const auto a = policy_config::parse(
      R"({"threshold": 5, "nk_k": 0.8, "round_base": 5, "blocked_extensions": ["DB", ".sav"],
          "projects": {"alpha": {"threshold": 20}}})");
  const auto b = policy_config::parse(
      "blocked_extensions: [.sav, db, .db]\n"
      "round_base: 5\n"
      "projects:\n  alpha:\n    threshold: 20\n"
      "nk_k: 0.80\n"
      "threshold: 5\n");
  CHECK(a.defaults() == b.defaults());
  CHECK(policy_id(a.defaults()) == policy_id(b.defaults()));
  CHECK(policy_id(a.effective("x", "alpha")) == policy_id(b.effective("x", "alpha")));
  CHECK(canonical_json(a.defaults()).find(R"("nk_k":0.8,)") != std::string::npos);
  CHECK(a.defaults().blocked_extensions == std::vector<std::string>{".db", ".sav"});
  CHECK(policy_id(a.defaults()) != policy_id(policy{}));
  // YAML and JSON agree on a real given as an integer.
  CHECK(policy_config::parse("nk_k: 1").defaults().nk_k == 1.0);
  CHECK(policy_id(policy_config::parse("nk_k: 1").defaults()) ==
        policy_id(policy_config::parse(R"({"nk_k": 1.0})").defaults()));
}

TEST_CASE("sdc policy: per-project overrides by name and by id, the id winning") {
  const auto c = policy_config::parse(R"(
threshold: 10
projects:
  genomics:
    threshold: 20
    zeros_are_disclosive: false
  0190F3A4-0000-7000-8000-000000000001:
    threshold: 30
    round_base: 10
  plain:
)");
  CHECK(c.effective("0190f3a4-0000-7000-8000-0000000000ff", "other") == c.defaults());
  const auto g = c.effective("0190f3a4-0000-7000-8000-0000000000ff", "genomics");
  CHECK(g.threshold == 20);
  CHECK_FALSE(g.zeros_are_disclosive);
  const auto both = c.effective("0190f3a4-0000-7000-8000-000000000001", "genomics");
  CHECK(both.threshold == 30);
  CHECK(both.round_base == 10);
  CHECK_FALSE(both.zeros_are_disclosive);
  CHECK(c.effective("", "plain") == c.defaults());
  CHECK(policy_id(both) != policy_id(g));
}

TEST_CASE("sdc policy: unknown keys and wrong types are refused, naming the key") {
  auto refused = [](const std::string& text) {
    const auto e = thrown_by([&] { (void)policy_config::parse(text); });
    CHECK(e.code() == errc::invalid_argument);
    return std::string(e.what());
  };
  CHECK(refused(R"({"treshold": 5})") == "sdc policy: 'treshold' is not a policy key");
  CHECK(refused("threshold: ten\n").find("'threshold' must be an integer, not a string") !=
        std::string::npos);
  CHECK(refused("threshold: \"10\"\n").find("'threshold' must be an integer") != std::string::npos);
  CHECK(refused(R"({"threshold": 2.5})").find("'threshold' must be an integer, not a real") !=
        std::string::npos);
  CHECK(refused("zeros_are_disclosive: 1\n").find("'zeros_are_disclosive' must be true or false") !=
        std::string::npos);
  CHECK(refused("nk_k: 1.5\n").find("'nk_k' must be a number in (0, 1]") != std::string::npos);
  CHECK(refused("nk_k: 0\n").find("'nk_k'") != std::string::npos);
  CHECK(refused("p_ratio: abc\n").find("'p_ratio' must be a number, not a string") !=
        std::string::npos);
  CHECK(refused("round_base: 0\n").find("'round_base' must be at least 1") != std::string::npos);
  CHECK(refused("max_rows: -1\n").find("'max_rows'") != std::string::npos);
  CHECK(refused("blocked_extensions: .db\n").find("'blocked_extensions' must be a list") !=
        std::string::npos);
  CHECK(refused("blocked_extensions: [1]\n").find("'blocked_extensions' must hold strings") !=
        std::string::npos);
  CHECK(refused("projects:\n  alpha:\n    nk_n: x\n")
            .find("'projects.alpha.nk_n' must be an integer") != std::string::npos);
  CHECK(refused("projects:\n  alpha:\n    projects: {}\n").find("'projects.alpha.projects'") !=
        std::string::npos);
  CHECK(refused("projects: [a]\n").find("'projects' must map") != std::string::npos);
  CHECK(refused("threshold: 5\nthreshold: 6\n").find("'threshold' appears twice") !=
        std::string::npos);
  CHECK(refused("- a\n- b\n").find("must be a mapping") != std::string::npos);
  CHECK(refused(R"({"threshold": })").find("not valid JSON") != std::string::npos);
  CHECK(refused("threshold: [1\n").find("not valid YAML") != std::string::npos);
  const auto e = thrown_by([] { (void)policy_config::load("/nonexistent/sdc.yaml"); });
  CHECK(e.code() == errc::not_found);
}

// --- streaming ------------------------------------------------------------------------------

/// Bytes allocated with malloc, from the heap or mapped on their own (under
/// AddressSanitizer, from its allocator, which glibc's figures do not see).
std::size_t heap_in_use() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  const auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

/// A frequency table of `rows` rows made as it is read; while it is read,
/// the heap in use is sampled (the scan is running between two pulls).
struct generated_table {
  std::int64_t rows;
  std::int64_t produced = 0;
  std::string pending;
  std::size_t bytes = 0;
  std::size_t peak_heap = 0;

  std::size_t operator()(char* buffer, std::size_t capacity) {
    peak_heap = std::max(peak_heap, heap_in_use());
    if (pending.empty()) {
      if (produced == 0) pending = "region,sex,age,a,b,c,d,e,Total\n";
      while (pending.size() < 256 * 1024 && produced < rows) {
        ++produced;
        const auto v = produced % 97;
        pending += fmt::format("r{},{},{},{},{},{},{},{},{}\n", produced % 50,
                               produced % 2 ? "female" : "male", produced % 90, 10 + v,
                               v == 3 ? std::string("*") : std::to_string(20 + v), 30 + v, v, 40,
                               100 + 5 * v);
      }
    }
    const std::size_t n = std::min(capacity, pending.size());
    std::memcpy(buffer, pending.data(), n);
    pending.erase(0, n);
    bytes += n;
    return n;
  }
};

TEST_CASE("sdc: a ~50 MB table streams in memory that does not grow with it") {
  auto measure = [](std::int64_t rows, std::size_t& bytes) {
    auto gen = std::make_shared<generated_table>(generated_table{rows});
    object_input in;
    in.object_id = "big";
    in.filename = "big.csv";
    in.output_type = output_type::tabular;
    in.statbarn = "Frequencies";
    in.researcher_justification = "load";
    in.content = [gen](char* b, std::size_t n) { return (*gen)(b, n); };
    const std::size_t before = heap_in_use();
    const auto f = check_object(std::move(in), policy{});
    CHECK(get(f, "individual_records").status == status::fail);
    CHECK(get(f, "zeros").status == status::fail);
    CHECK(get(f, "zeros").cells.size() == sdc_limits::max_cells);
    CHECK(get(f, "minimum_threshold").status == status::fail);
    bytes = gen->bytes;
    return gen->peak_heap > before ? gen->peak_heap - before : 0;
  };
  std::size_t small_bytes = 0, big_bytes = 0;
  const std::size_t small = measure(50'000, small_bytes);
  const std::size_t big = measure(1'500'000, big_bytes);
  MESSAGE("heap growth while scanning: " << small << " bytes for " << small_bytes << " bytes, "
                                         << big << " bytes for " << big_bytes << " bytes");
  CHECK(big_bytes > 45'000'000);
  // The generator's own buffer (~256 KiB) and the reader's 64 KiB chunk
  // are in both; the scan's state is per column and capped.
  CHECK(big < 4 * 1024 * 1024);
  CHECK(big < small + 512 * 1024);
}

}  // namespace
}  // namespace trevor
