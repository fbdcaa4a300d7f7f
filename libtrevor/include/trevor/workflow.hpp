#pragma once
// trevor::workflow — the airlock's services over one database, blob store and
// set of options: requests, objects, reviews, releases and sweeps
// (trevor/requests.hpp, objects.hpp, reviews.hpp, releases.hpp, sweeps.hpp).
//
//   trevor::workflow airlock(db, blobs, options);
//   auto r = airlock.requests.create(rita, {project_id, direction::egress, "Table 2", ""});
//   airlock.objects.add(rita, r.id, {.filename = "t.csv", ...}, string_reader(text));
//   airlock.requests.submit(rita, r.id);
//
// The services share the workflow's state and may be used from any thread;
// the workflow must outlive every use of them.

#include <memory>

#include "trevor/blob_store.hpp"
#include "trevor/database.hpp"
#include "trevor/export.hpp"
#include "trevor/objects.hpp"
#include "trevor/releases.hpp"
#include "trevor/requests.hpp"
#include "trevor/reviews.hpp"
#include "trevor/sweeps.hpp"
#include "trevor/workflow_options.hpp"

namespace trevor {

class TREVOR_EXPORT workflow {
 public:
  /// `blobs` must outlive the workflow. `ids` (optional) replaces UUIDv7
  /// generation, for deterministic tests. Throws invalid_argument for options
  /// that break a rule (fewer than two required reviews, ...).
  workflow(database db, blob_store& blobs, workflow_options options = {}, id_source* ids = nullptr);
  ~workflow();
  workflow(const workflow&) = delete;
  workflow& operator=(const workflow&) = delete;

  const workflow_options& options() const noexcept;

 private:
  std::unique_ptr<detail::workflow_state> state_;  // before the services that use it

 public:
  request_service requests{*state_};
  object_service objects{*state_};
  review_service reviews{*state_};
  release_service releases{*state_};
  sweep_service sweeps{*state_};
};

}  // namespace trevor
