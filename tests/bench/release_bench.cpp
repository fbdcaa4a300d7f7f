// Release benchmark: time and peak memory of releasing a request whose
// approved objects add up to MEGABYTES (default 1024), and of downloading the
// package through its link.
//
// Each phase starts with the process's peak RSS reset (/proc/self/clear_refs,
// "5"), so the figure printed for it is that phase's own peak (VmHWM). The
// objects' bytes are pseudo-random (incompressible) and streamed: nothing
// holds a whole object in memory, so what the release needs shows.
//
//   release_bench DATABASE_URL [MEGABYTES] [OBJECTS]
#include <cstring>
#include <fstream>

#include "bench_common.hpp"

namespace {

using bench::clock_type;

void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// `bytes` pseudo-random bytes (xorshift), pulled in the reader's chunks.
trevor::byte_reader noise(std::int64_t bytes, std::uint64_t seed) {
  return [left = bytes, x = seed | 1](char* buf, std::size_t cap) mutable -> std::size_t {
    const auto n =
        static_cast<std::size_t>(std::min<std::int64_t>(left, static_cast<std::int64_t>(cap)));
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(buf + i, &x, 8);
    }
    for (std::size_t i = n - n % 8; i < n; ++i) buf[i] = static_cast<char>(i);
    left -= static_cast<std::int64_t>(n);
    return n;
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: release_bench DATABASE_URL [MEGABYTES] [OBJECTS]\n");
    return 2;
  }
  const std::int64_t megabytes = argc > 2 ? std::stol(argv[2]) : 1024;
  const int objects = argc > 3 ? std::stoi(argv[3]) : 4;
  try {
    bench::scratch s(argv[1]);
    const auto root = std::filesystem::temp_directory_path() /
                      ("trevor-bench-release-" + trevor::uuid::v7().str());
    struct cleanup {
      std::filesystem::path p;
      ~cleanup() { std::filesystem::remove_all(p); }
    } remove_root{root};
    auto db = trevor::database::open(s.lib_url, {.pool_size = 2});
    trevor::filesystem_blob_store blobs(root / "blobs");
    trevor::directory dir(db);
    trevor::workflow_options options;
    options.max_upload_bytes = megabytes * 1024 * 1024;
    options.scratch_dir = root / "scratch";
    trevor::workflow flow(db, blobs, options);
    auto make = [&](const char* name, bool admin) {
      const auto u = dir.upsert_user({std::string("sub-") + name, name, "", name, "", ""});
      return trevor::actor{u.id, admin};
    };
    const auto admin = make("admin", true), rita = make("rita", false), chen = make("chen", false),
               carla = make("carla", false);
    const trevor::project_spec spec{trevor::uuid::v7(), "bench", "Bench"};
    dir.reconcile_projects(admin, std::span(&spec, 1));
    dir.add_membership(admin, rita.user_id, spec.id, trevor::membership_role::researcher);
    dir.add_membership(admin, chen.user_id, spec.id, trevor::membership_role::output_checker);
    dir.add_membership(admin, carla.user_id, spec.id, trevor::membership_role::output_checker);

    const auto r = flow.requests.create(rita, {spec.id, trevor::direction::egress, "Bench", ""});
    const std::int64_t each = megabytes * 1024 * 1024 / objects;
    reset_peak_rss();
    auto t0 = clock_type::now();
    for (int i = 0; i < objects; ++i) {
      trevor::new_object o;
      o.filename = fmt::format("part-{}.bin", i);
      flow.objects.add(rita, r.id, o,
                       noise(each, 0x9e3779b97f4a7c15ULL + static_cast<unsigned>(i)));
    }
    const double upload_s = seconds_since(t0);
    const long upload_kb = bench::peak_rss_kb();
    flow.requests.submit(rita, r.id);
    trevor::human_review_input ok;
    ok.decision = trevor::review_decision::approved;
    flow.reviews.record(chen, r.id, ok);
    flow.reviews.record(carla, r.id, ok);

    reset_peak_rss();
    const long before_kb = bench::peak_rss_kb();
    t0 = clock_type::now();
    const auto rec = flow.releases.release(admin, r.id);
    const double release_s = seconds_since(t0);
    const long release_kb = bench::peak_rss_kb();

    reset_peak_rss();
    t0 = clock_type::now();
    const auto token = rec.download_url.substr(rec.download_url.find("token=") + 6);
    const auto d = flow.releases.download(r.id, token, {"127.0.0.1", "bench"});
    std::int64_t got = 0;
    flow.releases.read_blob(
        d, [&](std::string_view chunk) { got += static_cast<std::int64_t>(chunk.size()); });
    const double download_s = seconds_since(t0);
    const long download_kb = bench::peak_rss_kb();

    const double mb = static_cast<double>(each * objects) / (1024.0 * 1024.0);
    std::printf("release_bench %s: %d objects, %.0f MiB (package %.0f MiB)\n",
                s.postgres() ? "postgresql" : "sqlite", objects, mb,
                static_cast<double>(got) / (1024.0 * 1024.0));
    std::printf("  upload   %6.2f s  %7.1f MiB/s  peak RSS %6.1f MB\n", upload_s, mb / upload_s,
                static_cast<double>(upload_kb) / 1024.0);
    std::printf("  release  %6.2f s  %7.1f MiB/s  peak RSS %6.1f MB (%.1f MB before)\n", release_s,
                mb / release_s, static_cast<double>(release_kb) / 1024.0,
                static_cast<double>(before_kb) / 1024.0);
    std::printf("  download %6.2f s  %7.1f MiB/s  peak RSS %6.1f MB\n", download_s,
                static_cast<double>(got) / (1024.0 * 1024.0) / download_s,
                static_cast<double>(download_kb) / 1024.0);
    std::printf("  release rate / upload rate of this run: ratio %.2f (target >= 0.8)\n",
                upload_s / release_s);
    return got == d.size_bytes ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "release_bench: %s\n", e.what());
    return 1;
  }
}
