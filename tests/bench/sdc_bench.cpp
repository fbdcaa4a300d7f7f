// SDC checks benchmark (tests/README.md): time and peak RSS of checking one
// frequency table of MEGABYTES (default 100) made as it is read, and of
// checking OBJECTS (default 100) small tables one after the other.
//
// The table is generated on the fly (nothing holds it whole), so the peak
// RSS printed is what the checks need. Target: well under 2 s and 50 MB.
//
//   sdc_bench [MEGABYTES] [OBJECTS]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "trevor/sdc.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

/// A CSV frequency table of about `bytes` bytes, produced as it is pulled.
trevor::byte_reader table_of(std::size_t bytes) {
  struct state {
    std::size_t left;
    std::uint64_t row = 0;
    std::string pending = "region,sex,age,a,b,c,d,e,Total\n";
  };
  auto s = std::make_shared<state>(state{bytes});
  return [s](char* buf, std::size_t cap) -> std::size_t {
    while (s->pending.size() < cap && s->left > s->pending.size()) {
      const auto r = ++s->row;
      const auto v = r % 97;
      s->pending += fmt::format("r{},{},{},{},{},{},{},{},{}\n", r % 50, r % 2 ? "female" : "male",
                                r % 90, 10 + v, 20 + v, 30 + v, v, 40, 100 + 5 * v);
    }
    const std::size_t n = std::min({cap, s->pending.size(), s->left});
    std::memcpy(buf, s->pending.data(), n);
    s->pending.erase(0, n);
    s->left -= n;
    return n;
  };
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100;
  const std::size_t objects = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100;
  const trevor::sdc::policy p;

  trevor::sdc::object_input in;
  in.object_id = "bench";
  in.filename = "big.csv";
  in.output_type = trevor::output_type::tabular;
  in.statbarn = "Frequencies";
  in.researcher_justification = "benchmark";
  in.content = table_of(megabytes * 1000 * 1000);
  const long rss0 = peak_rss_kb();
  auto t0 = clock_type::now();
  const auto f = trevor::sdc::check_object(std::move(in), p);
  const double big = seconds_since(t0);
  fmt::print(
      "sdc: {} MB frequency table checked in {:.2f} s ({:.0f} MB/s), peak RSS {:.1f} MB "
      "(before: {:.1f} MB), recommendation {}\n",
      megabytes, big, static_cast<double>(megabytes) / big,
      static_cast<double>(peak_rss_kb()) / 1024, static_cast<double>(rss0) / 1024,
      trevor::to_string(f.recommendation));

  const std::string small =
      "region,female,male,Total\nnorth,12,*,30\nsouth,15,20,35\neast,40,41,81\nTotal,x,79,146\n";
  t0 = clock_type::now();
  std::size_t escalated = 0;
  for (std::size_t i = 0; i < objects; ++i) {
    trevor::sdc::object_input o;
    o.object_id = std::to_string(i);
    o.filename = fmt::format("t{}.csv", i);
    o.output_type = trevor::output_type::tabular;
    o.statbarn = "Frequencies";
    o.researcher_justification = "benchmark";
    o.content = trevor::string_reader(small);
    escalated += trevor::sdc::check_object(std::move(o), p).recommendation ==
                 trevor::review_decision::escalated;
  }
  fmt::print("sdc: {} small tables checked in {:.3f} s ({} escalated)\n", objects,
             seconds_since(t0), escalated);
  return 0;
}
