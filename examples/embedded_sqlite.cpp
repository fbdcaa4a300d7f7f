// Embedding libtrevor: an in-memory SQLite database, migrated, with an audit
// trail appended to and searched. This is how a test suite of another
// application can use trevor without any server.
//
//   embedded_sqlite [DATABASE_URL]     (default sqlite:///:memory:)
#include <cstdio>

#include <trevor/trevor.hpp>

int main(int argc, char** argv) {
  const char* url = argc > 1 ? argv[1] : "sqlite:///:memory:";
  try {
    trevor::database db = trevor::database::open(url);
    const auto applied = trevor::migrator(db).up();
    std::printf("engine %s, %zu migration(s) applied\n",
                std::string(trevor::to_string(db.kind())).c_str(), applied.size());

    trevor::audit_log audit(db);
    const auto first =
        audit.append({.actor = std::string(trevor::system_actor),
                      .event_type = "project.synced",
                      .payload_json = R"({"created": 1, "updated": 0, "archived": 0})"});
    std::vector<trevor::audit_event_input> batch;
    for (int i = 0; i < 3; ++i)
      batch.push_back({.actor = std::string(trevor::agent_actor), .event_type = "review.created"});
    audit.append_many(batch);

    // Newest first, only review events, two per page.
    trevor::audit_query q{.event_type_prefix = "review.", .limit = 2};
    int pages = 0;
    std::size_t seen = 0;
    do {
      const auto page = audit.query(q);
      for (const auto& e : page.items)
        std::printf("  #%lld %s %s by %s\n", static_cast<long long>(e.seq),
                    e.occurred_at.str().c_str(), e.event_type.c_str(), e.actor.c_str());
      seen += page.items.size();
      q.cursor = page.next_cursor;
      ++pages;
    } while (!q.cursor.empty());

    std::printf("first event #%lld; %zu review events on %d pages; %lld events in all\n",
                static_cast<long long>(first.seq), seen, pages,
                static_cast<long long>(audit.count()));
    return seen == 3 && audit.count() == 4 ? 0 : 1;
  } catch (const trevor::error& e) {
    std::fprintf(stderr, "embedded_sqlite: %s (%s)\n", e.what(),
                 std::string(trevor::to_string(e.code())).c_str());
    return 1;
  }
}
