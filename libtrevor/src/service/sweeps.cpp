// workflow: the sweeps — stuck requests, expiring links, interrupted
// releases.
#include <unordered_map>
#include <unordered_set>

#include <filesystem>

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include "db/transaction.hpp"
#include "service/common.hpp"
#include "service/workflow_state.hpp"
#include "store/dashboard.hpp"
#include "store/objects.hpp"
#include "store/records.hpp"
#include "store/requests.hpp"
#include "trevor/error.hpp"

namespace trevor {

using detail::connection;
using detail::event_batch;
using mode = detail::transaction::mode;

std::vector<airlock_request> sweep_service::stuck_requests() {
  const long long hours = s_.options.stuck_after.count();
  return detail::run_transaction(s_.db.impl(), mode::write, "stuck sweep", [&](connection& c) {
    // Lock the candidates first (PostgreSQL), then read them again: the
    // second statement sees the request.stuck events of a sweep that held
    // the locks before us, so no request is reported twice for one period.
    detail::stuck_requests(c, hours, /*lock=*/true);
    const auto stuck = detail::stuck_requests(c, hours, /*lock=*/false);
    event_batch batch(s_.ids);
    std::vector<airlock_request> out;
    for (const auto& f : stuck) {
      const auto& r = f.request;
      batch.event(std::string(system_actor), "request.stuck", r.id, r.project_id,
                  {{"status", to_string(r.status)},
                   {"since", r.updated_at.str()},
                   {"threshold_hours", hours}});
      batch.notify(f.checkers, "request.stuck", fmt::format("Request waiting: {}", r.title),
                   fmt::format("The request \"{}\" has been in {} since {}.", r.title,
                               to_string(r.status), r.updated_at.str()),
                   r.id);
      out.push_back(r);
    }
    batch.write(c);
    return out;
  });
}

std::vector<release_record> sweep_service::expiring_links() {
  return detail::run_transaction(
      s_.db.impl(), mode::write, "link expiry sweep", [&](connection& c) {
        const auto now = detail::database_now(c);
        std::vector<release_record> out;
        event_batch batch(s_.ids);
        for (auto& e :
             detail::releases_expiring(c, now, detail::later(now, s_.options.link_warning))) {
          // The conditional update is the "exactly once": a concurrent sweep
          // that read the same candidate updates nothing.
          auto warned = detail::mark_release_expiry_warned(c, e.record.id);
          if (!warned) continue;
          batch.event(std::string(system_actor), "presigned_url.expiring_soon", e.record.request_id,
                      e.project_id,
                      {{"release_id", e.record.id.str()},
                       {"url_expires_at", e.record.url_expires_at.str()}});
          batch.notify(
              {e.owner_id}, "presigned_url.expiring_soon",
              fmt::format("Download link expiring: {}", e.title),
              fmt::format("The download link of \"{}\" expires at {}; ask an administrator "
                          "for a new one if you still need it.",
                          e.title, e.record.url_expires_at.str()),
              e.record.request_id);
          out.push_back(std::move(*warned));
        }
        batch.write(c);
        return out;
      });
}

std::vector<airlock_request> sweep_service::interrupted_releases() {
  const auto timeout = s_.options.release_timeout;
  return detail::run_transaction(s_.db.impl(), mode::write, "release sweep", [&](connection& c) {
    const auto now = detail::database_now(c);
    detail::request_filter filter;
    filter.status = request_status::releasing;
    std::vector<airlock_request> out;
    event_batch batch(s_.ids);
    for (const auto& r : detail::list_requests(c, filter)) {
      std::string why;
      const auto beat = detail::find_release_heartbeat(c, r.id);
      const auto silent = s_.options.release_heartbeat_timeout;
      if (!(now < detail::later(r.updated_at, timeout))) {
        why = fmt::format("still RELEASING {} s after the release started",
                          std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
      } else if (beat &&
                 now.micros() - beat->beat_at.micros() >=
                     std::chrono::duration_cast<std::chrono::microseconds>(silent).count()) {
        // Whatever host the holder is on: it has stopped saying it is alive.
        why = fmt::format("no heartbeat from the process building the package ({}) for {} ms",
                          beat->holder, (now.micros() - beat->beat_at.micros()) / 1000);
      } else if (const auto p = detail::latest_event_payload(c, r.id, "request.releasing")) {
        boost::system::error_code ec;
        const auto v = boost::json::parse(*p, ec);
        const auto* h = !ec && v.is_object() ? v.as_object().if_contains("holder") : nullptr;
        if (h && h->is_string() && detail::process_gone(h->as_string()))
          why = fmt::format("the process building the package ({}) is gone",
                            std::string_view(h->as_string()));
      }
      if (why.empty()) continue;
      auto moved =
          detail::return_to_approved(c, batch, r.id, std::string(system_actor), "interrupted", why);
      if (!moved) continue;
      out.push_back(std::move(*moved));
    }
    batch.write(c);
    return out;
  });
}

std::vector<airlock_request> sweep_service::interrupted_agent_reviews() {
  return detail::run_transaction(
      s_.db.impl(), mode::write, "agent review sweep", [&](connection& c) {
        const auto cutoff = timestamp(
            detail::database_now(c).micros() -
            std::chrono::duration_cast<std::chrono::microseconds>(s_.options.agent_timeout)
                .count());
        std::vector<airlock_request> out;
        for (const auto& r : detail::agent_reviews_before(c, cutoff)) {
          try {
            detail::fail_agent_review_in(
                c, s_, r.id, std::string(system_actor),
                fmt::format("interrupted: in AGENT_REVIEW since {}, longer than {} s",
                            r.updated_at.str(), s_.options.agent_timeout.count()));
          } catch (const error& e) {
            if (e.code() != errc::conflict) throw;
            continue;  // another sweep or the worker moved it meanwhile
          }
          out.push_back(r);
        }
        return out;
      });
}

storage_report sweep_service::check_storage(bool remove, bool verify_checksums,
                                            std::chrono::seconds margin) {
  // The references first: a blob put after this read is younger than the
  // margin, so it is never taken for an orphan.
  const auto refs =
      detail::run_transaction(s_.db.impl(), mode::read, "storage check",
                              [](connection& c) { return detail::blob_references(c); });
  std::unordered_map<std::string, const detail::blob_reference*> by_key;
  by_key.reserve(refs.size());
  for (const auto& r : refs) by_key.emplace(r.key, &r);

  storage_report out;
  std::unordered_set<std::string> present;
  const auto cutoff = std::chrono::system_clock::now() - margin;
  s_.blobs.for_each_blob([&](const stored_blob& b) {
    ++out.files;
    if (!b.temporary) present.insert(b.key);
    if (b.modified > cutoff) return;
    if (b.temporary) {
      out.temporaries.push_back(b.key);
      out.orphan_bytes += b.size;
    } else if (!by_key.contains(b.key)) {
      out.orphans.push_back(b.key);
      out.orphan_bytes += b.size;
    }
  });
  for (const auto& r : refs) {
    if (present.contains(r.key)) {
      if (verify_checksums && r.object_id && !r.checksum_sha256.empty() &&
          !s_.blobs.verify(r.key, r.checksum_sha256))
        out.corrupted_objects.push_back(*r.object_id);
      continue;
    }
    if (r.object_id) {
      if (!r.checksum_sha256.empty()) out.missing_objects.push_back(*r.object_id);
    } else {
      out.missing_packages.push_back(r.key);
    }
  }
  if (remove) {
    for (const auto& k : out.orphans) s_.blobs.discard(k);
    for (const auto& k : out.temporaries) s_.blobs.discard_temporary(k);
    out.removed = true;
  }
  return out;
}

std::size_t sweep_service::stale_scratch_files() {
  const auto dir = s_.options.scratch_dir.empty() ? std::filesystem::temp_directory_path()
                                                  : s_.options.scratch_dir;
  const auto cutoff = std::filesystem::file_time_type::clock::now() - s_.options.release_timeout;
  const auto host = [] {
    const auto& me = detail::this_process();
    return me.substr(0, me.rfind(':'));
  }();
  std::size_t removed = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    // trevor-release-<release id>-<pid>.zip, and libzip's temporary
    // <that name>.<suffix> beside it.
    const auto name = it->path().filename().string();
    constexpr std::string_view prefix = "trevor-release-";
    if (!name.starts_with(prefix)) continue;
    const auto zip = name.find(".zip");
    const auto dash = name.rfind('-', zip);
    if (zip == std::string::npos || dash == std::string::npos || dash < prefix.size()) continue;
    const auto pid = name.substr(dash + 1, zip - dash - 1);
    std::error_code fe;
    const bool old = it->last_write_time(fe) < cutoff && !fe;
    if (old || detail::process_gone(host + ":" + pid)) {
      if (std::filesystem::remove(it->path(), fe) && !fe) ++removed;
    }
  }
  return removed;
}

}  // namespace trevor
