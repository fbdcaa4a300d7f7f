// Concurrent operations on one request, with real threads and a real pool on
// both engines (SQLite: a database file with several connections).
#include <atomic>
#include <functional>
#include <latch>
#include <thread>

#include <doctest/doctest.h>

#include "world.hpp"

namespace trevor {
namespace {

using test::decide;
using test::world;

/// Runs a and b on two threads released at the same moment; returns the
/// error code each ended with (nullopt: success).
std::pair<std::optional<errc>, std::optional<errc>> race(const std::function<void()>& a,
                                                         const std::function<void()>& b) {
  std::latch start(2);
  std::optional<errc> ra, rb;
  auto run = [&](const std::function<void()>& fn, std::optional<errc>& out) {
    start.arrive_and_wait();
    try {
      fn();
    } catch (const error& e) {
      out = e.code();
    }
  };
  std::thread ta(run, std::cref(a), std::ref(ra));
  std::thread tb(run, std::cref(b), std::ref(rb));
  ta.join();
  tb.join();
  return {ra, rb};
}

TEST_CASE("concurrency: two reviewers at once, 100 rounds: both recorded, one transition") {
  world w({}, /*sqlite_file=*/true, /*pool_size=*/4);
  for (int i = 0; i < 100; ++i) {
    const auto r = w.submitted();
    const auto o = w.flow.objects.list(w.r1, r.id)[0];
    auto ask = decide(review_decision::changes_requested);
    ask.object_decisions = {{o.id, review_decision::changes_requested, "fix"}};
    const auto [a, b] =
        race([&] { w.flow.reviews.record(w.c1, r.id, decide(review_decision::approved)); },
             [&] { w.flow.reviews.record(w.c2, r.id, ask); });
    REQUIRE_FALSE(a);
    REQUIRE_FALSE(b);
    // Both reviews are in the round, and the one transition accounts for
    // both: changes were asked by one of them, so the outcome must say so.
    const auto reviews = w.flow.reviews.list(w.r1, r.id);
    REQUIRE(reviews.size() == 2);
    CHECK(w.flow.requests.get(w.r1, r.id).status == request_status::changes_requested);
    CHECK(w.flow.objects.get(w.r1, r.id, o.id).state == object_state::changes_requested);
    int transitions = 0;
    for (const auto& e : w.trail(r.id)) {
      if (e.event_type != "request.changes_requested" && e.event_type != "request.approved")
        continue;
      ++transitions;
      const auto ids = test::payload_of(e).at("reviews").as_array();
      CHECK(ids.size() == 2);
    }
    CHECK(transitions == 1);
  }
}

TEST_CASE("concurrency: two submits at once: one succeeds, one is an invalid transition") {
  world w({}, /*sqlite_file=*/true, /*pool_size=*/4);
  for (int i = 0; i < 20; ++i) {
    const auto d = w.draft();
    const auto [a, b] = race([&] { w.flow.requests.submit(w.r1, d.id); },
                             [&] { w.flow.requests.submit(w.admin, d.id); });
    CHECK(a.has_value() != b.has_value());
    CHECK((a ? *a : *b) == errc::invalid_transition);
    int submitted = 0;
    for (const auto& e : w.trail(d.id)) submitted += e.event_type == "request.submitted";
    CHECK(submitted == 1);
  }
}

TEST_CASE("concurrency: two metadata edits from the same version: one conflict") {
  world w({}, /*sqlite_file=*/true, /*pool_size=*/4);
  for (int i = 0; i < 20; ++i) {
    const auto d = w.draft();
    const auto o = w.flow.objects.list(w.r1, d.id)[0];
    const auto version = w.flow.objects.metadata(w.r1, d.id, o.id).lock_version;
    metadata_patch p1, p2;
    p1.title = "from Rita";
    p2.title = "from Ravi";
    const auto [a, b] = race([&] { w.flow.objects.edit_metadata(w.r1, d.id, o.id, p1, version); },
                             [&] { w.flow.objects.edit_metadata(w.r2, d.id, o.id, p2, version); });
    CHECK(a.has_value() != b.has_value());
    CHECK((a ? *a : *b) == errc::conflict);
    const auto m = w.flow.objects.metadata(w.r1, d.id, o.id);
    CHECK(m.lock_version == version + 1);
    CHECK(m.title == (a ? "from Ravi" : "from Rita"));
  }
}

TEST_CASE("concurrency: two replacements of one object at once: one new version") {
  world w({}, /*sqlite_file=*/true, /*pool_size=*/4);
  for (std::size_t i = 1; i <= 20; ++i) {
    const auto d = w.draft();
    const auto o = w.flow.objects.list(w.r1, d.id)[0];
    new_object in;
    in.filename = "v2.csv";
    const auto [a, b] =
        race([&] { w.flow.objects.replace(w.r1, d.id, o.id, in, test::bytes_of("a")); },
             [&] { w.flow.objects.replace(w.r2, d.id, o.id, in, test::bytes_of("b")); });
    REQUIRE(a.has_value() != b.has_value());
    // The loser finds the version it replaces SUPERSEDED by the winner.
    CHECK((a ? *a : *b) == errc::invalid_transition);
    const auto versions = w.flow.objects.versions(w.r1, d.id, o.id);
    REQUIRE(versions.size() == 2);
    CHECK(versions[0].state == object_state::superseded);
    CHECK(versions[1].state == object_state::pending);
    CHECK(w.blob_files() == 2 * i);  // each draft's object and one replacement: the loser's
                                     // bytes were discarded
  }
}

}  // namespace
}  // namespace trevor
