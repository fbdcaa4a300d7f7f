// The raw driver's single-row commit rate (sqlite3 C API or libpq; one
// INSERT ... RETURNING per transaction, autocommit) into a freshly migrated
// audit_events table, from one writer or from many at once — the baseline a
// figure measured at that concurrency is compared with (http_bench.sh: POST
// /requests at 32 connections against 32 raw writers):
//
//   raw_commit_bench DATABASE_URL WRITERS [ROWS] [RUNS]
//
// Each writer has its own connection and commits ROWS / WRITERS rows
// (default ROWS 6000). Prints every run's rate and their median (RUNS,
// default 3, odd), the median last on a line of its own: "median N/s".
#include "bench_common.hpp"

using namespace bench;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: raw_commit_bench DATABASE_URL WRITERS [ROWS] [RUNS]\n");
    return 2;
  }
  const std::string url = argv[1];
  const std::size_t writers = std::stoul(argv[2]);
  const std::size_t rows = argc > 3 ? std::stoul(argv[3]) : 6000;
  const std::size_t runs = argc > 4 ? std::stoul(argv[4]) : 3;
  try {
    scratch s(url);
    raw_commit_rate(s, writers, std::min<std::size_t>(rows, 200 * writers));  // warm up
    std::vector<double> rates;
    for (std::size_t i = 0; i < runs; ++i) rates.push_back(raw_commit_rate(s, writers, rows));
    std::printf("raw single-row commit on %s, %zu writer(s), %zu rows per run:",
                s.postgres() ? "PostgreSQL" : "SQLite (WAL, synchronous=NORMAL)", writers,
                rows / writers * writers);
    for (double r : rates) std::printf(" %.0f/s", r);
    std::printf("\nmedian %.0f/s\n", median3(rates));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raw_commit_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
