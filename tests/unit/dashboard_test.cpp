// The admin dashboard's read models: audit search and CSV export.
#include <sstream>

#include <boost/json/parse.hpp>

#include "support.hpp"
#include "trevor/dashboard.hpp"
#include "world.hpp"

namespace trevor {
namespace {

using test::thrown_by;
using test::world;

/// Splits CSV text into records of cells (RFC 4180: quoted cells may hold
/// commas, doubled quotes and line breaks). Independent of csv_cell().
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string cell;
  bool quoted = false, any = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell.push_back('"');
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        cell.push_back(ch);
      }
    } else if (ch == '"') {
      quoted = true;
      any = true;
    } else if (ch == ',') {
      record.push_back(std::move(cell));
      cell.clear();
    } else if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      record.push_back(std::move(cell));
      cell.clear();
      records.push_back(std::move(record));
      record.clear();
      ++i;
    } else {
      cell.push_back(ch);
      any = true;
    }
  }
  REQUIRE_MESSAGE(!quoted, "unterminated quoted cell");
  REQUIRE_MESSAGE((cell.empty() && record.empty()), "the last record has no CRLF");
  (void)any;
  return records;
}

TEST_CASE("csv_cell: RFC 4180 quoting and formula neutralisation") {
  CHECK(csv_cell("plain") == "plain");
  CHECK(csv_cell("") == "");
  CHECK(csv_cell("a,b") == "\"a,b\"");
  CHECK(csv_cell("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_cell("two\nlines") == "\"two\nlines\"");
  CHECK(csv_cell("cr\rhere") == "\"cr\rhere\"");
  CHECK(csv_cell("=SUM(A1:A9)") == "'=SUM(A1:A9)");
  CHECK(csv_cell("+1") == "'+1");
  CHECK(csv_cell("-1") == "'-1");
  CHECK(csv_cell("@cmd") == "'@cmd");
  CHECK(csv_cell("\tx") == "'\tx");
  CHECK(csv_cell("\rx") == "\"'\rx\"");
  CHECK(csv_cell("=a,b") == "\"'=a,b\"");
  CHECK(csv_cell("a=b") == "a=b");
}

TEST_CASE("audit export: header, every event newest first, hostile payloads survive a CSV parser") {
  world w;
  dashboard board(w.fdb.db());
  audit_log log(w.fdb.db());
  const auto r = w.draft(0, "=HYPERLINK(\"http://evil\")");
  const std::string tricky = R"({"note": "comma, \"quotes\"\nand a newline", "n": 1})";
  log.append({w.c1.user_id.str(), "review.note", r.id, w.proj.id, tricky});
  log.append({"system", "system.note", std::nullopt, std::nullopt, R"({"x": "=1+1"})"});

  std::string csv;
  int chunks = 0;
  board.audit_export_csv(w.admin, {}, [&](std::string_view chunk) {
    csv.append(chunk);
    ++chunks;
  });
  CHECK(chunks == 1);
  const auto records = parse_csv(csv);
  const auto total = log.count();
  REQUIRE(records.size() == static_cast<std::size_t>(total) + 1);
  CHECK(records[0] == std::vector<std::string>{"id", "timestamp", "event_type", "actor_id",
                                               "request_id", "payload"});
  for (std::size_t i = 1; i < records.size(); ++i) REQUIRE(records[i].size() == 6);
  // Newest first: the two appended events lead, in reverse order of appending.
  CHECK(records[1][2] == "system.note");
  CHECK(records[1][3] == "system");
  CHECK(records[1][4].empty());
  CHECK(records[2][2] == "review.note");
  CHECK(records[2][3] == w.c1.user_id.str());
  CHECK(records[2][4] == r.id.str());
  CHECK(boost::json::parse(records[2][5]).as_object().at("note") ==
        "comma, \"quotes\"\nand a newline");
  // The request's title starting with '=' sits inside the JSON payload, which starts with '{'.
  bool created = false;
  for (const auto& rec : records)
    if (rec[2] == "request.created") {
      created = true;
      CHECK(boost::json::parse(rec[5]).as_object().at("title") == "=HYPERLINK(\"http://evil\")");
      CHECK(timestamp::parse(rec[1]).has_value());
    }
  CHECK(created);
}

TEST_CASE("audit export: a cell starting with user text that a spreadsheet runs is neutralised") {
  // The payload is always a JSON object ('{…'); the actor column is the
  // embedder's text, and may start with anything.
  world w;
  dashboard board(w.fdb.db());
  audit_log log(w.fdb.db());
  const std::vector<std::string> hostile{
      "=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\tcmd", "=1,2"};
  for (const auto& actor : hostile)
    log.append({actor, "embedder.note", std::nullopt, std::nullopt, R"({"n": 1})"});
  std::string csv;
  audit_query q;
  q.event_type_prefix = "embedder.";
  board.audit_export_csv(w.admin, q, [&](std::string_view chunk) { csv.append(chunk); });
  const auto records = parse_csv(csv);
  REQUIRE(records.size() == hostile.size() + 1);
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    const auto& actor = hostile[hostile.size() - 1 - i];  // newest first
    CAPTURE(actor);
    REQUIRE(records[i + 1].size() == 6);
    CHECK(records[i + 1][3] == "'" + actor);
  }
  // No line of the file, nor any cell after a separator, starts a formula.
  for (const auto& rec : records)
    for (const auto& cell : rec)
      CHECK_MESSAGE((cell.empty() ||
                     std::string_view("=+-@\t\r").find(cell.front()) == std::string_view::npos),
                    cell);
}

TEST_CASE("audit export streams page by page; filters apply; only tre_admin") {
  world w;
  dashboard board(w.fdb.db());
  audit_log log(w.fdb.db());
  std::vector<audit_event_input> many;
  for (std::size_t i = 0; i < max_audit_page + 5; ++i)
    many.push_back({"system", "bulk.event", std::nullopt, w.proj.id, "{}"});
  log.append_many(many);
  std::vector<std::size_t> sizes;
  std::string csv;
  audit_query q;
  q.event_type_prefix = "bulk.";
  q.limit = 3;                // ignored by the export
  q.cursor = "not-a-cursor";  // ignored by the export
  board.audit_export_csv(w.admin, q, [&](std::string_view chunk) {
    sizes.push_back(chunk.size());
    csv.append(chunk);
  });
  CHECK(sizes.size() == 2);  // two pages
  CHECK(parse_csv(csv).size() == max_audit_page + 5 + 1);

  CHECK(thrown_by([&] { board.audit_export_csv(w.c1, {}, [](std::string_view) {}); }).code() ==
        errc::forbidden);
  CHECK(thrown_by([&] { board.audit_search(w.r1, {}); }).code() == errc::forbidden);
  audit_query page;
  page.event_type_prefix = "bulk.";
  page.limit = 10;
  const auto first = board.audit_search(w.admin, page);
  CHECK(first.items.size() == 10);
  CHECK_FALSE(first.next_cursor.empty());
  page.cursor = first.next_cursor;
  const auto second = board.audit_search(w.admin, page);
  CHECK(second.items.front().seq < first.items.back().seq);
}

}  // namespace
}  // namespace trevor
