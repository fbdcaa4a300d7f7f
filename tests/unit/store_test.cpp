// The internal repositories, on each engine: every read and write the
// workflow will build on.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "db/transaction.hpp"
#include "store/memberships.hpp"
#include "store/notifications.hpp"
#include "store/objects.hpp"
#include "store/records.hpp"
#include "store/requests.hpp"
#include "store/reviews.hpp"
#include "store/users.hpp"
#include "support.hpp"
#include "trevor/migrate.hpp"

using namespace trevor;
using namespace trevor::detail;
using trevor::test::fresh_database;
using trevor::test::thrown_by;

namespace {

/// Runs fn in one write transaction on the test database.
template <class F>
auto tx(fresh_database& f, F&& fn) {
  return run_transaction(f.db().impl(), transaction::mode::write, "test", std::forward<F>(fn));
}

user make_user(const std::string& name) {
  user u;
  u.id = uuid::v7();
  u.username = name;
  u.email = name + "@example.org";
  u.given_name = name;
  return u;
}

struct base {
  user owner, checker, other;
  project proj;
  airlock_request request;
};

base seed(fresh_database& f) {
  base b;
  tx(f, [&](connection& c) {
    b.owner = insert_user(c, make_user("rita"));
    b.checker = insert_user(c, make_user("carl"));
    b.other = insert_user(c, make_user("olga"));
    b.proj =
        insert_project(c, project{.id = uuid::v7(), .name = "p1", .display_name = "Project One"});
    airlock_request r;
    r.id = uuid::v7();
    r.project_id = b.proj.id;
    r.direction = direction::egress;
    r.title = "Table 1";
    r.description = "counts by region";
    r.owner_id = b.owner.id;
    b.request = insert_request(c, r);
  });
  return b;
}

output_object make_object(const base& b, std::int64_t version = 1,
                          std::optional<uuid> logical = std::nullopt,
                          std::optional<uuid> replaces = std::nullopt) {
  output_object o;
  o.id = uuid::v7();
  o.request_id = b.request.id;
  o.logical_object_id = logical.value_or(uuid::v7());
  o.version = version;
  o.replaces_id = replaces;
  o.filename = "t1.csv";
  o.output_type = output_type::tabular;
  o.statbarn = "SB1";
  o.storage_key = "p/r/l/" + std::to_string(version);
  o.checksum_sha256 = std::string(64, 'a');
  o.size_bytes = 1234567890123;  // > 32 bits
  o.uploaded_by = b.owner.id;
  return o;
}

}  // namespace

TEST_CASE("users: insert, find by id, username and subject, and write only real changes") {
  fresh_database f;
  auto u = make_user("alice");
  u.subject = "kc-123";
  const auto stored = tx(f, [&](connection& c) { return insert_user(c, u); });
  CHECK(stored.id == u.id);
  CHECK(stored.subject == "kc-123");
  CHECK(stored.active);
  CHECK(stored.created_at == stored.updated_at);
  tx(f, [&](connection& c) {
    CHECK(find_user(c, u.id)->username == "alice");
    CHECK(find_user_by_username(c, "alice")->id == u.id);
    CHECK(find_user_by_subject(c, "kc-123")->id == u.id);
    CHECK(!find_user(c, uuid::v7()));
    CHECK(!find_user_by_username(c, "nobody"));
    // Same claims: nothing is written.
    CHECK(!update_user_if_changed(c, stored));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto changed = stored;
  changed.email = "alice@new.example";
  changed.active = false;
  const auto updated = tx(f, [&](connection& c) { return update_user_if_changed(c, changed); });
  REQUIRE(updated);
  CHECK(updated->email == "alice@new.example");
  CHECK(!updated->active);
  CHECK(updated->updated_at > stored.updated_at);
  CHECK(updated->created_at == stored.created_at);
  // A subject going from set to unset is a change too (NULL-safe comparison).
  changed.subject.reset();
  CHECK(tx(f, [&](connection& c) { return update_user_if_changed(c, changed); }));

  const auto e =
      thrown_by([&] { tx(f, [&](connection& c) { insert_user(c, make_user("alice")); }); });
  CHECK(e.code() == errc::conflict);
  tx(f, [&](connection& c) {
    insert_user(c, make_user("bob"));
    CHECK(list_users(c, std::nullopt).size() == 2);
    CHECK(list_users(c, std::string("bob")).size() == 1);
    CHECK(list_users(c, std::string("zed")).empty());
  });
}

TEST_CASE("projects: insert, list by name, update only on change") {
  fresh_database f;
  tx(f, [&](connection& c) {
    const auto b =
        insert_project(c, project{.id = uuid::v7(), .name = "beta", .display_name = "Beta"});
    const auto a =
        insert_project(c, project{.id = uuid::v7(), .name = "alpha", .display_name = "Alpha"});
    CHECK(a.status == project_status::active);
    const auto all = list_projects(c);
    REQUIRE(all.size() == 2);
    CHECK(all[0].name == "alpha");
    CHECK(!update_project_if_changed(c, b));
    auto archived = b;
    archived.status = project_status::archived;
    CHECK(update_project_if_changed(c, archived)->status == project_status::archived);
    CHECK(find_project(c, b.id)->status == project_status::archived);
    CHECK(!find_project(c, uuid::v7()));
  });
}

TEST_CASE("memberships: roles, checkers, removal returning the full row") {
  fresh_database f;
  const auto b = seed(f);
  const auto researcher = tx(f, [&](connection& c) {
    auto m = insert_membership(c, {.id = uuid::v7(),
                                   .user_id = b.owner.id,
                                   .project_id = b.proj.id,
                                   .role = membership_role::researcher,
                                   .assigned_by = b.other.id});
    insert_membership(c, {.id = uuid::v7(),
                          .user_id = b.checker.id,
                          .project_id = b.proj.id,
                          .role = membership_role::output_checker});
    insert_membership(c, {.id = uuid::v7(),
                          .user_id = b.checker.id,
                          .project_id = b.proj.id,
                          .role = membership_role::senior_checker});
    return m;
  });
  CHECK(researcher.assigned_by == b.other.id);
  tx(f, [&](connection& c) {
    CHECK(roles_on_project(c, b.checker.id, b.proj.id) ==
          std::vector{membership_role::output_checker, membership_role::senior_checker});
    CHECK(roles_on_project(c, b.other.id, b.proj.id).empty());
    CHECK(checkers_of_project(c, b.proj.id) == std::vector{b.checker.id});
    CHECK(list_memberships_of_project(c, b.proj.id).size() == 3);
    CHECK(list_memberships_of_user(c, b.checker.id).size() == 2);
    CHECK(find_membership(c, researcher.id)->role == membership_role::researcher);
  });
  // The clash rule and uniqueness surface as conflicts; unknown users as not_found.
  CHECK(thrown_by([&] {
          tx(f, [&](connection& c) {
            insert_membership(c, {.id = uuid::v7(),
                                  .user_id = b.owner.id,
                                  .project_id = b.proj.id,
                                  .role = membership_role::output_checker});
          });
        }).code() == errc::conflict);
  CHECK(thrown_by([&] {
          tx(f, [&](connection& c) {
            insert_membership(c, {.id = uuid::v7(),
                                  .user_id = uuid::v7(),
                                  .project_id = b.proj.id,
                                  .role = membership_role::output_checker});
          });
        }).code() == errc::not_found);
  const auto removed = tx(f, [&](connection& c) { return delete_membership(c, researcher.id); });
  REQUIRE(removed);
  CHECK(removed->user_id == b.owner.id);
  CHECK(removed->role == membership_role::researcher);
  CHECK(!tx(f, [&](connection& c) { return delete_membership(c, researcher.id); }));
}

TEST_CASE("requests: conditional transitions stamp the row and refuse a stale state") {
  fresh_database f;
  const auto b = seed(f);
  CHECK(b.request.status == request_status::draft);
  CHECK(b.request.review_round == 1);
  CHECK(!b.request.submitted_at);
  CHECK(!b.request.closed_at);
  tx(f, [&](connection& c) {
    const auto submitted =
        transition_request(c, b.request.id, request_status::draft, request_status::human_review,
                           {.stamp_submitted = true});
    REQUIRE(submitted);
    CHECK(submitted->status == request_status::human_review);
    CHECK(submitted->submitted_at);
    CHECK(!submitted->closed_at);
    // From a state it is no longer in: nothing happens.
    CHECK(
        !transition_request(c, b.request.id, request_status::draft, request_status::withdrawn, {}));
    CHECK(find_request(c, b.request.id)->status == request_status::human_review);
    const auto changes = transition_request(c, b.request.id, request_status::human_review,
                                            request_status::changes_requested, {});
    const auto again = transition_request(c, b.request.id, request_status::changes_requested,
                                          request_status::human_review,
                                          {.start_new_round = true, .stamp_submitted = true});
    REQUIRE(again);
    CHECK(again->review_round == 2);
    CHECK(*again->submitted_at >= *submitted->submitted_at);
    const auto approved = transition_request(c, b.request.id, request_status::human_review,
                                             request_status::approved, {.stamp_closed = true});
    REQUIRE(approved);
    CHECK(approved->closed_at);
    CHECK(!transition_request(c, uuid::v7(), request_status::draft, request_status::submitted, {}));
  });
}

TEST_CASE("requests: list filters by project, status and membership") {
  fresh_database f;
  const auto b = seed(f);
  tx(f, [&](connection& c) {
    const auto p2 = insert_project(c, project{.id = uuid::v7(), .name = "p2"});
    airlock_request r;
    r.id = uuid::v7();
    r.project_id = p2.id;
    r.title = "Figure 2";
    r.owner_id = b.other.id;
    insert_request(c, r);
    insert_membership(c, {.id = uuid::v7(),
                          .user_id = b.checker.id,
                          .project_id = b.proj.id,
                          .role = membership_role::output_checker});
    CHECK(list_requests(c, {}).size() == 2);
    CHECK(list_requests(c, {.project_id = p2.id}).size() == 1);
    CHECK(list_requests(c, {.status = request_status::draft}).size() == 2);
    CHECK(list_requests(c, {.status = request_status::approved}).empty());
    const auto mine = list_requests(c, {.member_id = b.checker.id});
    REQUIRE(mine.size() == 1);
    CHECK(mine[0].id == b.request.id);
    CHECK(list_requests(c, {.member_id = b.other.id}).empty());
    CHECK(list_requests(
              c,
              {.project_id = b.proj.id, .status = request_status::draft, .member_id = b.checker.id})
              .size() == 1);
  });
}

TEST_CASE("objects: versions, lineage, conditional state changes, slot confirmation") {
  fresh_database f;
  const auto b = seed(f);
  tx(f, [&](connection& c) {
    const auto v1 = insert_object(c, make_object(b));
    CHECK(v1.state == object_state::pending);
    CHECK(v1.size_bytes == 1234567890123);
    CHECK(find_object(c, v1.id)->checksum_sha256 == std::string(64, 'a'));
    CHECK(count_live_objects(c, b.request.id, std::nullopt) == 1);
    CHECK(count_live_objects(c, b.request.id, object_state::pending) == 1);
    CHECK(set_object_state(c, v1.id, object_state::pending, object_state::changes_requested));
    CHECK(!set_object_state(c, v1.id, object_state::pending, object_state::approved));  // stale
    // Replace: supersede v1, then v2 in the same logical object.
    CHECK(set_object_state(c, v1.id, object_state::changes_requested, object_state::superseded));
    const auto v2 = insert_object(c, make_object(b, 2, v1.logical_object_id, v1.id));
    CHECK(v2.replaces_id == v1.id);
    const auto lineage = object_lineage(c, v1.logical_object_id);
    REQUIRE(lineage.size() == 2);
    CHECK(lineage[0].id == v1.id);
    CHECK(lineage[1].id == v2.id);
    CHECK(list_objects(c, b.request.id, false).size() == 1);
    CHECK(list_objects(c, b.request.id, true).size() == 2);
    CHECK(count_live_objects(c, b.request.id, object_state::changes_requested) == 0);

    auto slot = make_object(b);
    slot.checksum_sha256.clear();
    slot.size_bytes = 0;
    slot = insert_object(c, slot);
    const auto filled = confirm_object_upload(c, slot.id, std::string(64, 'c'), 77);
    REQUIRE(filled);
    CHECK(filled->size_bytes == 77);
    CHECK(!confirm_object_upload(c, slot.id, std::string(64, 'd'), 78));  // only once
    CHECK(!confirm_object_upload(c, v2.id, std::string(64, 'd'), 78));    // never for uploads
  });
}

TEST_CASE("metadata: optimistic concurrency through lock_version") {
  fresh_database f;
  const auto b = seed(f);
  tx(f, [&](connection& c) {
    const auto o = insert_object(c, make_object(b));
    object_metadata m;
    m.logical_object_id = o.logical_object_id;
    m.request_id = b.request.id;
    m.title = "Counts";
    m.tags_json = R"({"topic": "regional"})";
    const auto stored = insert_metadata(c, m);
    CHECK(stored.lock_version == 1);
    CHECK(stored.checker_feedback_json == "[]");
    auto edit = stored;
    edit.researcher_justification = "aggregated to n >= 10";
    const auto v2 = update_metadata(c, edit);
    REQUIRE(v2);
    CHECK(v2->lock_version == 2);
    CHECK(v2->researcher_justification == "aggregated to n >= 10");
    // A second edit based on version 1 loses.
    auto stale = stored;
    stale.title = "Overwritten?";
    CHECK(!update_metadata(c, stale));
    CHECK(find_metadata(c, o.logical_object_id)->title == "Counts");
  });
}

TEST_CASE("reviews: one per reviewer per round, listed per round") {
  fresh_database f;
  const auto b = seed(f);
  tx(f, [&](connection& c) {
    const auto agent =
        insert_review(c, {.id = uuid::v7(),
                          .request_id = b.request.id,
                          .round = 1,
                          .reviewer_type = reviewer_type::agent,
                          .decision = review_decision::escalated,
                          .findings_json = R"([{"rule": "small_counts", "ok": false}])"});
    CHECK(!agent.reviewer_id);
    insert_review(c, {.id = uuid::v7(),
                      .request_id = b.request.id,
                      .round = 1,
                      .reviewer_type = reviewer_type::human,
                      .reviewer_id = b.checker.id,
                      .decision = review_decision::changes_requested,
                      .accepted_agent_findings = true,
                      .summary = "suppress row 3"});
    insert_review(c, {.id = uuid::v7(),
                      .request_id = b.request.id,
                      .round = 2,
                      .reviewer_type = reviewer_type::human,
                      .reviewer_id = b.checker.id,
                      .decision = review_decision::approved});
    CHECK(list_reviews(c, b.request.id, std::nullopt).size() == 3);
    const auto round1 = list_reviews(c, b.request.id, 1);
    REQUIRE(round1.size() == 2);
    CHECK(round1[1].accepted_agent_findings);
    CHECK(round1[1].summary == "suppress row 3");
    CHECK(find_review(c, agent.id)->decision == review_decision::escalated);
  });
  CHECK(thrown_by([&] {
          tx(f, [&](connection& c) {
            insert_review(c, {.id = uuid::v7(),
                              .request_id = b.request.id,
                              .round = 2,
                              .reviewer_type = reviewer_type::human,
                              .reviewer_id = b.checker.id,
                              .decision = review_decision::rejected});
          });
        }).code() == errc::conflict);
}

TEST_CASE(
    "notifications: own rows newest first with a keyset cursor, unread counts, marking read") {
  fresh_database f;
  const auto b = seed(f);
  std::vector<notification> mine;
  tx(f, [&](connection& c) {
    for (int i = 0; i < 5; ++i)
      mine.push_back(insert_notification(c, {.id = uuid::v7(),
                                             .user_id = b.owner.id,
                                             .event_type = "request.approved",
                                             .title = "Approved " + std::to_string(i),
                                             .request_id = b.request.id}));
    insert_notification(c, {.id = uuid::v7(),
                            .user_id = b.other.id,
                            .event_type = "request.submitted",
                            .title = "someone else's"});
  });
  tx(f, [&](connection& c) {
    CHECK(count_unread(c, b.owner.id) == 5);
    // Page through newest first, two at a time.
    std::vector<uuid> seen;
    std::optional<uuid> before;
    for (;;) {
      const auto page =
          list_notifications(c, {.user_id = b.owner.id, .limit = 2, .before = before});
      for (const auto& n : page) seen.push_back(n.id);
      if (page.size() < 2) break;
      before = page.back().id;
    }
    REQUIRE(seen.size() == 5);
    // Rows made in one transaction share created_at on PostgreSQL: the id
    // (time-ordered UUIDv7) breaks the tie.
    for (std::size_t i = 0; i < 5; ++i) CHECK(seen[i] == mine[4 - i].id);
    // Someone else's row: not marked, not visible.
    const auto theirs = list_notifications(c, {.user_id = b.other.id});
    REQUIRE(theirs.size() == 1);
    CHECK(!mark_notification_read(c, theirs[0].id, b.owner.id));
    CHECK(mark_notification_read(c, mine[0].id, b.owner.id)->read);
    CHECK(count_unread(c, b.owner.id) == 4);
    CHECK(list_notifications(c, {.user_id = b.owner.id, .unread_only = true}).size() == 4);
    CHECK(mark_all_notifications_read(c, b.owner.id) == 4);
    CHECK(count_unread(c, b.owner.id) == 0);
    CHECK(count_unread(c, b.other.id) == 1);
  });
}

TEST_CASE("release and delivery records: one per request; expiry warning recorded once") {
  fresh_database f;
  const auto b = seed(f);
  tx(f, [&](connection& c) {
    const auto expires = timestamp::parse_or_throw("2030-01-02T03:04:05.123456Z", "t");
    const auto rel = insert_release_record(c, {.id = uuid::v7(),
                                               .request_id = b.request.id,
                                               .crate_storage_key = "release/crate.zip",
                                               .crate_checksum_sha256 = std::string(64, 'e'),
                                               .download_url = "/releases/x",
                                               .url_expires_at = expires,
                                               .released_by = b.checker.id});
    CHECK(rel.url_expires_at == expires);
    CHECK(!rel.expiry_warned_at);
    CHECK(find_release_record(c, b.request.id)->id == rel.id);
    CHECK(mark_release_expiry_warned(c, rel.id)->expiry_warned_at);
    CHECK(!mark_release_expiry_warned(c, rel.id));
    const auto del = insert_delivery_record(c, {.id = uuid::v7(),
                                                .request_id = b.request.id,
                                                .delivered_by = b.checker.id,
                                                .object_count = 3,
                                                .url_expires_at = expires});
    CHECK(find_delivery_record(c, b.request.id)->object_count == 3);
    CHECK(del.id != rel.id);
    CHECK(!find_release_record(c, uuid::v7()));
  });
  CHECK(thrown_by([&] {
          tx(f, [&](connection& c) {
            insert_delivery_record(c, {.id = uuid::v7(),
                                       .request_id = b.request.id,
                                       .delivered_by = b.checker.id,
                                       .url_expires_at = timestamp(0)});
          });
        }).code() == errc::conflict);
}

TEST_CASE("two transitions from the same state at once: exactly one wins") {
  // A file database on SQLite, so the two threads really hold two connections.
  const auto dir = std::filesystem::temp_directory_path() / ("trevor-race-" + uuid::v7().str());
  std::filesystem::create_directories(dir);
  std::optional<fresh_database> pg;
  if (trevor::test::on_postgres()) pg.emplace(true, 4);
  database db =
      pg ? pg->db() : database::open("sqlite:///" + (dir / "race.db").string(), {.pool_size = 4});
  if (!pg) migrator(db).up();
  base b;
  run_transaction(db.impl(), transaction::mode::write, "seed", [&](connection& c) {
    b.owner = insert_user(c, make_user("rita"));
    b.proj = insert_project(c, project{.id = uuid::v7(), .name = "p"});
  });
  int both = 0, none = 0;
  for (int round = 0; round < 30; ++round) {
    airlock_request r;
    r.id = uuid::v7();
    r.project_id = b.proj.id;
    r.title = "race";
    r.owner_id = b.owner.id;
    run_transaction(db.impl(), transaction::mode::write, "seed",
                    [&](connection& c) { insert_request(c, r); });
    std::atomic<int> wins{0};
    auto attempt = [&](request_status to) {
      run_transaction(db.impl(), transaction::mode::write, "race", [&](connection& c) {
        if (find_request(c, r.id)->status != request_status::draft)
          return;  // what a careless service would do
        if (transition_request(c, r.id, request_status::draft, to, {})) ++wins;
      });
    };
    std::thread t1(attempt, request_status::submitted);
    std::thread t2(attempt, request_status::withdrawn);
    t1.join();
    t2.join();
    both += wins == 2;
    none += wins == 0;
  }
  CHECK(both == 0);
  CHECK(none == 0);
  std::filesystem::remove_all(dir);
}
