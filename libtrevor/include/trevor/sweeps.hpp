#pragma once
// trevor::sweep_service — the periodic work no request triggers: stuck
// requests, expiring links, interrupted releases and agent reviews. Each sweep is safe with
// several daemons sweeping at once.

#include <chrono>
#include <string>
#include <vector>

#include "trevor/export.hpp"
#include "trevor/model.hpp"

namespace trevor {

namespace detail {
struct workflow_state;
}  // namespace detail

/// What check_storage() found in the blob store.
struct storage_report {
  std::size_t files = 0;  // blobs and temporary files listed
  /// Blobs no committed row refers to, older than the margin.
  std::vector<std::string> orphans;
  /// Temporary files of uploads that never finished, older than the margin.
  std::vector<std::string> temporaries;
  std::int64_t orphan_bytes = 0;  // both kinds
  bool removed = false;           // whether the two lists above were removed
  /// Object versions whose file is gone (slots never filled excluded).
  std::vector<uuid> missing_objects;
  /// Release packages whose file is gone (by storage key).
  std::vector<std::string> missing_packages;
  /// Object versions whose bytes no longer match their SHA-256 (when verified).
  std::vector<uuid> corrupted_objects;
  bool ok() const noexcept {
    return missing_objects.empty() && missing_packages.empty() && corrupted_objects.empty();
  }
};

/// The sweeps (trevord runs them every TREVOR_SWEEP_SECONDS).
class TREVOR_EXPORT sweep_service {
 public:
  explicit sweep_service(detail::workflow_state& state) noexcept : s_(state) {}
  sweep_service(const sweep_service&) = delete;
  sweep_service& operator=(const sweep_service&) = delete;

  /// Notifies every checker of each request waiting in SUBMITTED,
  /// AGENT_REVIEW or HUMAN_REVIEW for longer than workflow_options::stuck_after since
  /// its last status change (request.stuck, audited), at most once per request
  /// per stuck period, even with several daemons sweeping at once. Returns the
  /// requests reported by this call.
  std::vector<airlock_request> stuck_requests();

  /// Tells the owner of each release whose link expires within
  /// workflow_options::link_warning (presigned_url.expiring_soon, audited) — once
  /// per link, even with several daemons sweeping. Returns the records warned.
  std::vector<release_record> expiring_links();

  /// Returns to APPROVED every request left RELEASING for longer than
  /// workflow_options::release_timeout, or at once when the process that
  /// started the release is gone (same host, no such pid: a kill -9)
  /// (request.release_failed, reason "interrupted"). Returns the requests
  /// moved.
  std::vector<airlock_request> interrupted_releases();

  /// Returns to SUBMITTED every request left in AGENT_REVIEW for longer than
  /// workflow_options::agent_timeout — its worker stopped mid-review — as a
  /// failed attempt (request.agent_review_failed, reason "interrupted",
  /// actor "system"), so a worker tries it again. Returns the requests moved.
  std::vector<airlock_request> interrupted_agent_reviews();

  /// Removes the release scratch files (workflow_options::scratch_dir) that
  /// no live release owns: those of a process that is gone, or older than
  /// release_timeout. trevord runs it at start and with the sweeps. Returns
  /// the number of files removed.
  std::size_t stale_scratch_files();

  /// Compares the blob store with the database (trevord storage check, and
  /// the orphan sweep with `remove`): blobs no row refers to and temporary
  /// files of interrupted uploads, older than `margin` (so that an upload or
  /// release still on its way is never touched), are reported — and removed
  /// with `remove`; a referenced file is never removed. Rows whose file is
  /// missing are reported, and with `verify_checksums` every object's bytes
  /// are re-hashed. invalid_argument for a store that cannot list itself.
  storage_report check_storage(bool remove, bool verify_checksums = false,
                               std::chrono::seconds margin = std::chrono::hours(1));

 private:
  detail::workflow_state& s_;
};

}  // namespace trevor
