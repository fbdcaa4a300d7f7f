// The audit log: append (one and many), validation, query filters and keyset pages.
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include <fmt/format.h>

#include "store/audit_store.hpp"
#include "support.hpp"
#include "trevor/audit.hpp"

using namespace trevor;
using trevor::detail::connection;
using trevor::test::fresh_database;
using trevor::test::thrown_by;

namespace {

audit_event_input event(std::string type, std::string actor = "system") {
  audit_event_input e;
  e.actor = std::move(actor);
  e.event_type = std::move(type);
  return e;
}

struct world {
  uuid project = uuid::v7();
  uuid request = uuid::v7();
  uuid other_request = uuid::v7();
  uuid owner = uuid::v7();
};

world seed(fresh_database& f) {
  world w;
  f.exec(fmt::format("INSERT INTO users (id, username) VALUES ('{}', 'owner')", w.owner.str()));
  f.exec(fmt::format("INSERT INTO projects (id, name) VALUES ('{}', 'p')", w.project.str()));
  for (const auto& r : {w.request, w.other_request})
    f.exec(
        fmt::format("INSERT INTO airlock_requests (id, project_id, direction, title, owner_id) "
                    "VALUES ('{}', '{}', 'egress', 't', '{}')",
                    r.str(), w.project.str(), w.owner.str()));
  return w;
}

std::vector<std::int64_t> seqs(const std::vector<audit_event>& v) {
  std::vector<std::int64_t> out;
  for (const auto& e : v) out.push_back(e.seq);
  return out;
}

}  // namespace

TEST_CASE("append stores the event with a database-assigned seq and time") {
  fresh_database f;
  const auto w = seed(f);
  audit_log log(f.db());
  auto in = event("request.created", w.owner.str());
  in.request_id = w.request;
  in.project_id = w.project;
  in.payload_json = R"({"to": "DRAFT", "title": "Table \"1\", revised"})";
  const auto before = timestamp::from_sys(std::chrono::system_clock::now());
  const auto e = log.append(in);
  CHECK(e.id.version() == 7);
  CHECK(e.seq > 0);
  CHECK(e.occurred_at.micros() >= before.micros() - 5'000'000);
  CHECK(e.occurred_at.micros() <= before.micros() + 5'000'000);

  const auto page = log.query({});
  REQUIRE(page.items.size() == 1);
  const auto& stored = page.items[0];
  CHECK(stored.id == e.id);
  CHECK(stored.seq == e.seq);
  CHECK(stored.occurred_at == e.occurred_at);
  CHECK(stored.actor == w.owner.str());
  CHECK(stored.request_id == w.request);
  CHECK(stored.project_id == w.project);
  CHECK(stored.payload_json.find("Table \\\"1\\\", revised") != std::string::npos);
  CHECK(log.count() == 1);
}

TEST_CASE("seq strictly increases, and append_many keeps the given order") {
  fresh_database f;
  audit_log log(f.db());
  const auto a = log.append(event("project.synced"));
  std::vector<audit_event_input> batch;
  for (int i = 0; i < 50; ++i) {
    auto e = event("project.synced");
    e.payload_json = fmt::format(R"({{"i": {}}})", i);
    batch.push_back(e);
  }
  const auto stored = log.append_many(batch);
  REQUIRE(stored.size() == 50);
  CHECK(stored.front().seq > a.seq);
  for (std::size_t i = 1; i < stored.size(); ++i) CHECK(stored[i].seq > stored[i - 1].seq);
  const auto page = log.query({.order = audit_order::oldest_first, .limit = 100});
  REQUIRE(page.items.size() == 51);
  for (int i = 0; i < 50; ++i)
    CHECK(page.items[static_cast<std::size_t>(i) + 1].payload_json.find(fmt::format("{}", i)) !=
          std::string::npos);
  CHECK(log.append_many({}).empty());
}

TEST_CASE("append_many is all or nothing") {
  fresh_database f;
  audit_log log(f.db());
  std::vector<audit_event_input> batch{event("request.created"), event("request.submitted")};
  batch[1].request_id = uuid::v7();  // no such request
  const auto e = thrown_by([&] { log.append_many(batch); });
  CHECK(e.code() == errc::not_found);
  CHECK(log.count() == 0);
}

TEST_CASE("malformed events are refused before anything is written") {
  fresh_database f;
  audit_log log(f.db());
  struct bad_case {
    audit_event_input in;
    const char* says;
  };
  auto no_actor = event("request.created", "");
  auto bad_type = event("Request Created");
  auto no_namespace = event("created");
  auto bad_payload = event("request.created");
  bad_payload.payload_json = "[1, 2]";
  auto broken_payload = event("request.created");
  broken_payload.payload_json = "{\"a\": ";
  auto nil_request = event("request.created");
  nil_request.request_id = uuid();
  for (const auto& c :
       {bad_case{no_actor, "actor"}, bad_case{bad_type, "event type 'Request Created'"},
        bad_case{no_namespace, "event type 'created'"}, bad_case{bad_payload, "JSON object"},
        bad_case{broken_payload, "JSON object"}, bad_case{nil_request, "nil"}}) {
    const auto e = thrown_by([&] { log.append(c.in); });
    CHECK(e.code() == errc::invalid_argument);
    CHECK_MESSAGE(std::string(e.what()).find(c.says) != std::string::npos, e.what());
    CHECK(thrown_by([&] {
            log.append_many(std::vector{event("request.created"), c.in});
          }).code() == errc::invalid_argument);
  }
  CHECK(log.count() == 0);
}

TEST_CASE("query filters by request, project, actor, event-type prefix and time") {
  fresh_database f;
  const auto w = seed(f);
  audit_log log(f.db());
  const auto add = [&](std::string type, std::optional<uuid> request,
                       std::string actor = "system") {
    auto e = event(std::move(type), std::move(actor));
    e.request_id = request;
    if (request) e.project_id = w.project;
    return log.append(e);
  };
  add("request.created", w.request, w.owner.str());
  add("request.submitted", w.request, w.owner.str());
  const auto third = add("object.state_changed", w.request);
  add("objectxstate_changed.x", std::nullopt);
  add("requests.other", std::nullopt);
  add("review.created", w.other_request, agent_actor.data());
  add("request.approved", w.other_request);

  const auto types = [&](audit_query q) {
    q.order = audit_order::oldest_first;
    std::vector<std::string> out;
    for (const auto& e : log.query(q).items) out.push_back(e.event_type);
    return out;
  };
  using v = std::vector<std::string>;
  CHECK(types({.request_id = w.request}) ==
        v{"request.created", "request.submitted", "object.state_changed"});
  CHECK(types({.project_id = w.project}).size() == 5);
  CHECK(types({.actor = w.owner.str()}) == v{"request.created", "request.submitted"});
  CHECK(types({.actor = std::string(agent_actor)}) == v{"review.created"});
  CHECK(types({.event_type_prefix = "request."}) ==
        v{"request.created", "request.submitted", "request.approved"});
  CHECK(types({.event_type_prefix = "request"}).size() == 4);  // includes requests.other
  // '_' and '.' are literal characters, not wildcards.
  CHECK(types({.event_type_prefix = "object.state_"}) == v{"object.state_changed"});
  CHECK(types({.request_id = w.other_request, .event_type_prefix = "request."}) ==
        v{"request.approved"});
  CHECK(types({.since = third.occurred_at}).size() >= 5);
  CHECK(types({.until = third.occurred_at}).size() <= 2);
  CHECK(types({.since = timestamp(0), .until = timestamp(1)}).empty());

  CHECK(thrown_by([&] { (void)log.query({.event_type_prefix = "request%"}); }).code() ==
        errc::invalid_argument);
  CHECK(thrown_by([&] { (void)log.query({.limit = 0}); }).code() == errc::invalid_argument);
  CHECK(thrown_by([&] { (void)log.query({.limit = max_audit_page + 1}); }).code() ==
        errc::invalid_argument);
  CHECK(thrown_by([&] { (void)log.query({.cursor = "garbage"}); }).code() ==
        errc::invalid_argument);
}

TEST_CASE("keyset pages cover every event once, newest first, even across equal timestamps") {
  fresh_database f;
  audit_log log(f.db());
  // One batch = one transaction: on PostgreSQL all 25 share one timestamp,
  // so the pages must be ordered and split by seq.
  std::vector<audit_event_input> batch(25, event("project.synced"));
  const auto stored = log.append_many(batch);
  std::vector<std::int64_t> seen;
  std::string cursor;
  int pages = 0;
  do {
    const auto page = log.query({.limit = 10, .cursor = cursor});
    for (const auto& e : page.items) seen.push_back(e.seq);
    cursor = page.next_cursor;
    ++pages;
    // An event appended between pages is newer than the cursor: it never
    // shows up on a later page of this walk.
    if (pages == 1) log.append(event("project.archived"));
  } while (!cursor.empty());
  CHECK(pages == 3);
  auto expected = seqs(stored);
  std::reverse(expected.begin(), expected.end());
  CHECK(seen == expected);

  // Oldest first walks the other way and sees the late event last.
  std::vector<std::int64_t> forward;
  cursor.clear();
  do {
    const auto page = log.query({.order = audit_order::oldest_first, .limit = 7, .cursor = cursor});
    for (const auto& e : page.items) forward.push_back(e.seq);
    cursor = page.next_cursor;
  } while (!cursor.empty());
  CHECK(forward.size() == 26);
  CHECK(std::is_sorted(forward.begin(), forward.end()));
}

TEST_CASE("concurrent appends from several threads all land with distinct seqs") {
  fresh_database f(true, 4);
  audit_log log(f.db());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        try {
          if (i % 10 == 0)
            log.append_many(std::vector<audit_event_input>(3, event("project.synced")));
          else
            log.append(event("project.synced"));
        } catch (const std::exception& e) {
          ++failures;
          MESSAGE(std::string(e.what()));
        }
      }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(log.count() == 4 * (45 + 5 * 3));
  CHECK(f.count("SELECT count(DISTINCT seq) FROM audit_events") == log.count());
}

TEST_CASE("a search by event-type prefix alone pages as the plain statement does (SQLite's plan)") {
  fresh_database f;
  const auto w = seed(f);
  audit_log log(f.db());
  // Several types under the prefix and around it, in batches sharing a time.
  const std::vector<std::string> kinds{"request.created", "request.submitted", "request.approved",
                                       "review.created",  "requests.other",    "request.x_y",
                                       "object.uploaded", "request.withdrawn"};
  for (int round = 0; round < 12; ++round) {
    std::vector<audit_event_input> batch;
    for (std::size_t k = 0; k < kinds.size(); ++k)
      if ((round + static_cast<int>(k)) % 3 != 0) batch.push_back(event(kinds[k]));
    log.append_many(batch);
  }
  const auto walk = [&](audit_query q, bool by_types) {
    std::vector<std::int64_t> seqs;
    for (;;) {
      const auto select = detail::build_audit_select(q, f.db().kind());
      const auto page = [&] {
        auto lease = f.db().impl().acquire();
        if (by_types) {
          auto p = detail::select_audit_page_by_types(*lease, q);
          REQUIRE(p.has_value() == (f.db().kind() == engine::sqlite));
          if (p) return *p;
        }
        return detail::select_audit_page(*lease, select, q.limit);
      }();
      for (const auto& e : page.items) seqs.push_back(e.seq);
      if (page.next_cursor.empty()) return seqs;
      q.cursor = page.next_cursor;
    }
  };
  const auto middle = log.query({.event_type_prefix = "request.", .limit = 20}).items.back();
  for (const std::string prefix : {"request.", "request", "r", "request.x", "nothing."})
    for (const auto order : {audit_order::newest_first, audit_order::oldest_first})
      for (const std::size_t limit : {std::size_t{1}, std::size_t{7}, std::size_t{500}}) {
        CAPTURE(prefix);
        CAPTURE(limit);
        audit_query q{.event_type_prefix = prefix, .order = order, .limit = limit};
        const auto plain = walk(q, false);
        CHECK(walk(q, true) == plain);
        if (prefix == "request.") CHECK(plain.size() > 30);
        q.since = middle.occurred_at;
        CHECK(walk(q, true) == walk(q, false));
        q.since.reset();
        q.until = middle.occurred_at;
        CHECK(walk(q, true) == walk(q, false));
      }
  // Any other filter: the plain statement.
  auto lease = f.db().impl().acquire();
  CHECK_FALSE(detail::select_audit_page_by_types(
      *lease, {.request_id = w.request, .event_type_prefix = "request."}));
  CHECK_FALSE(detail::select_audit_page_by_types(*lease, {.actor = "system"}));
}
