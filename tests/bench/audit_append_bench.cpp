// Audit append rate, libtrevor against the raw driver doing the same inserts
// in the same run, on one engine:
//
//   audit_append_bench DATABASE_URL [SINGLE_COUNT] [BATCHES]
//
// DATABASE_URL picks the engine. PostgreSQL: the server and database to use
// (two scratch schemas are created there and dropped after). SQLite: only the
// engine is taken; the two database files live in a new temporary directory.
//
// Both sides insert into an identically migrated audit_events table (its own
// schema or file each), with the same statement (INSERT ... RETURNING seq,
// occurred_at), fresh UUIDv7 ids and the same payload. "single" is one event
// per transaction (autocommit); "batch" is 1000 events in one transaction.
// Each measurement is repeated three times and the median reported; which
// side runs first alternates from round to round (raw, libtrevor, raw), so
// neither always gets the cooler cache or the emptier table.
#include "bench_common.hpp"

using namespace bench;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: audit_append_bench DATABASE_URL [SINGLE_COUNT] [BATCHES]\n");
    return 2;
  }
  const std::string url = argv[1];
  const std::size_t singles = argc > 2 ? std::stoul(argv[2]) : 3000;
  const std::size_t batches = argc > 3 ? std::stoul(argv[3]) : 10;
  try {
    scratch s(url);
    const bool pg = s.postgres();
    auto lib_db = trevor::database::open(s.lib_url, {.pool_size = 1});
    trevor::audit_log log(lib_db);
    const trevor::audit_event_input event{
        .actor = "system", .event_type = "request.submitted", .payload_json = payload};
    const std::vector<trevor::audit_event_input> batch(batch_size, event);

    raw_driver rd(s);
    const std::function<void()> lib_single_fn = [&] { log.append(event); },
                                lib_batch_fn = [&] { log.append_many(batch); },
                                raw_single_fn = [&] { rd.insert_one(); },
                                raw_batch_fn = [&] { rd.batch(); };
    // Warm up both sides (page cache, prepared statements).
    time_it(200, raw_single_fn);
    time_it(200, lib_single_fn);
    std::vector<double> raw_single, lib_single, raw_batch, lib_batch;
    for (int round = 0; round < 3; ++round) {
      const bool raw_first = round % 2 == 0;
      auto singles_of = [&](bool raw) {
        auto& out = raw ? raw_single : lib_single;
        out.push_back(rate(singles, time_it(singles, raw ? raw_single_fn : lib_single_fn)));
      };
      auto batches_of = [&](bool raw) {
        auto& out = raw ? raw_batch : lib_batch;
        out.push_back(
            rate(batches * batch_size, time_it(batches, raw ? raw_batch_fn : lib_batch_fn)));
      };
      singles_of(raw_first);
      singles_of(!raw_first);
      batches_of(raw_first);
      batches_of(!raw_first);
    }
    std::printf(
        "audit append on %s (%zu single appends, %zu batches of %zu; median of 3 rounds, the "
        "side that runs first alternating)\n",
        pg ? "PostgreSQL" : "SQLite (WAL, synchronous=NORMAL)", singles, batches, batch_size);
    report("one event per transaction", median3(raw_single), median3(lib_single), 0.8);
    report("1000 events per transaction", median3(raw_batch), median3(lib_batch), 0.7);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "audit_append_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
