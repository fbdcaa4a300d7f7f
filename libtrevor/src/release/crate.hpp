#pragma once
// The RO-Crate 1.1 package of an egress release (internal).
//
// A crate is a zip holding ro-crate-metadata.json and, under data/, the bytes
// of every APPROVED object. Each object is read from the blob store once,
// through a pull stream that hashes and counts the bytes as the zip writer
// takes them: the bytes in the package are exactly the bytes whose SHA-256
// and size were compared with the database's. Entries are stored (not
// deflated), so packaging is bound by I/O and the package's members are
// byte-for-byte the reviewed files.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "trevor/blob_store.hpp"
#include "trevor/model.hpp"

namespace trevor::detail {

struct crate_file {
  output_object object;
  object_metadata metadata;
  std::string path;  // inside the zip, also the entity's @id (percent-encoded)
};

/// Everything the metadata document says, read in the release's first
/// transaction.
struct crate_content {
  airlock_request request;
  user researcher;
  std::vector<crate_file> files;
  std::vector<review> reviews;  // the deciding round's, oldest first
  std::vector<user> reviewers;  // the human reviewers those name
  int required_reviews = 2;
  bool agent_review = false;
  timestamp released_at;
  /// workflow_options::release_license: empty for "not licensed for reuse".
  std::string license;
  /// audit-proof.json (trevor::request_audit_proof::json()): the signed
  /// checkpoint and the inclusion proof of each of the request's events up to
  /// the release; empty when the workflow has no signing audit trail.
  std::string audit_proof_json;
  /// sdc-policy.json: the project's effective SDC policy with its id
  /// (sdc::policy_document), the rules the outputs were checked under.
  std::string sdc_policy_json;
};

/// The zip paths of the files: data/<filename>, or data/<object id>/<filename>
/// for a name an earlier file already took.
void assign_crate_paths(std::vector<crate_file>& files);

/// The media type of a file from its name's extension (case-insensitive), for
/// the common output formats; application/octet-stream for anything else.
std::string_view media_type_of(std::string_view filename);

/// ro-crate-metadata.json for `content` (JSON-LD, flattened @graph).
std::string crate_metadata(const crate_content& content);

/// A file's @id: its zip path with everything outside RFC 3986's unreserved
/// characters and '/' percent-encoded.
std::string crate_id_of(std::string_view path);

/// Writes the crate to a new zip file at `zip_path`, streaming each object's
/// bytes from `blobs`. Throws error(conflict) naming the object when its
/// bytes' SHA-256 or size differ from the recorded ones, error(unavailable)
/// when the store or the zip cannot be read or written; nothing is left at
/// `zip_path` when it throws.
void write_crate(const std::filesystem::path& zip_path, const crate_content& content,
                 const std::string& metadata, const blob_store& blobs);

}  // namespace trevor::detail
