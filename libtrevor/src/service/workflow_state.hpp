#pragma once
// What the workflow's services share (internal): the database, the blob store,
// the checked options, the id source and the link signer.

#include <string>

#include "trevor/blob_store.hpp"
#include "trevor/database.hpp"
#include "trevor/signed_link.hpp"
#include "trevor/uuid.hpp"
#include "trevor/workflow.hpp"

namespace trevor::detail {

struct workflow_state {
  /// Throws invalid_argument for options that break a rule (fewer than two
  /// required reviews, non-positive link lifetimes, ...); drops a trailing
  /// '/' of public_url.
  workflow_state(database db, blob_store& blobs, workflow_options options, id_source* ids);

  database db;
  blob_store& blobs;
  workflow_options options;
  id_source* ids;
  link_signer links;

  uuid next_id() { return ids ? ids->next() : uuid::v7(); }
  /// A link path made absolute with options.public_url.
  std::string url_of(const std::string& path) const { return options.public_url + path; }
};

}  // namespace trevor::detail
