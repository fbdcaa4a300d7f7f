// workflow: the services' shared state, checked once, and the front that
// holds them.
#include <utility>

#include <fmt/format.h>

#include "service/workflow_state.hpp"
#include "trevor/error.hpp"

namespace trevor {
namespace detail {

workflow_state::workflow_state(database db_, blob_store& blobs_, workflow_options options_,
                               id_source* ids_)
    : db(std::move(db_)),
      blobs(blobs_),
      options(std::move(options_)),
      ids(ids_),
      links(options.link_secret.empty() ? link_signer::random_secret() : options.link_secret) {
  if (options.required_reviews < 2)
    throw error(errc::invalid_argument,
                "TREVOR_REQUIRED_REVIEWS: must be at least 2 (the two-person rule)");
  if (options.max_upload_bytes < 1)
    throw error(errc::invalid_argument, "TREVOR_MAX_UPLOAD_MB: must be positive");
  if (options.stuck_after.count() < 0)
    throw error(errc::invalid_argument, "TREVOR_STUCK_HOURS: must not be negative");
  for (auto [ttl, name] : {std::pair{options.release_link_ttl, "TREVOR_RELEASE_LINK_HOURS"},
                           std::pair{options.delivery_link_ttl, "TREVOR_DELIVERY_LINK_HOURS"},
                           std::pair{options.upload_link_ttl, "TREVOR_UPLOAD_LINK_HOURS"}})
    if (ttl.count() <= 0)
      throw error(errc::invalid_argument, fmt::format("{}: must be positive", name));
  if (options.link_warning.count() < 0 || options.release_timeout.count() <= 0)
    throw error(errc::invalid_argument,
                "TREVOR_LINK_WARNING_HOURS must not be negative and "
                "TREVOR_RELEASE_TIMEOUT_MINUTES must be positive");
  if (!options.public_url.empty() && options.public_url.back() == '/')
    options.public_url.pop_back();
}

}  // namespace detail

workflow::workflow(database db, blob_store& blobs, workflow_options options, id_source* ids)
    : state_(std::make_unique<detail::workflow_state>(std::move(db), blobs, std::move(options),
                                                      ids)) {}

workflow::~workflow() = default;

const workflow_options& workflow::options() const noexcept {
  return state_->options;
}

}  // namespace trevor
