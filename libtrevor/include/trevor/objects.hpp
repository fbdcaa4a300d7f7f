#pragma once
// trevor::object_service — a request's objects: uploads (streamed to the blob
// store, hashed on the way), ingress slots, replacement by a new version,
// metadata, and downloads by reviewers.
//
// Object bytes go to the blob store before the transaction that records them;
// when it fails they are discarded again, so a rejected upload leaves no file
// behind.
//
// Every mutating member function is one database transaction that checks the
// policy (trevor/policy.hpp), writes the change, its audit event(s) and its
// notification rows, and commits — or throws trevor::error and changes
// nothing. Errors: not_found for an unknown id or one the actor may not see
// (members of the request's project, tre_admin and the agent see a request);
// forbidden for a visible thing the actor may not change (and for a
// deactivated user); invalid_transition when the request's status does not
// allow the operation; conflict for a concurrent change or a duplicate;
// invalid_argument for malformed or incomplete input, with the field named.
// Thread-safety: every member function may be called concurrently.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trevor/actor.hpp"
#include "trevor/blob_store.hpp"
#include "trevor/export.hpp"
#include "trevor/links.hpp"
#include "trevor/model.hpp"

namespace trevor {

namespace detail {
struct workflow_state;
}  // namespace detail

/// A partial metadata update: only the fields that are set change.
struct metadata_patch {
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<std::string> researcher_justification;
  std::optional<std::string> suppression_notes;
  std::optional<std::string> tags_json;  // a JSON object
  bool empty() const noexcept {
    return !title && !description && !researcher_justification && !suppression_notes && !tags_json;
  }
};

struct new_object {
  std::string filename;  // a plain file name: no '/', '\\', control characters, "." or ".."
  trevor::output_type output_type = output_type::other;
  std::string statbarn;
  /// A supporting object (for the checkers only; see output_object). Set on
  /// a new logical object; a replacement keeps the flag of the version it
  /// replaces.
  bool supporting = false;
  metadata_patch metadata;  // initial metadata of a new logical object
};

/// Objects of a request: add, slots, replace, metadata, reads, downloads.
class TREVOR_EXPORT object_service {
 public:
  explicit object_service(detail::workflow_state& state) noexcept : s_(state) {}
  object_service(const object_service&) = delete;
  object_service& operator=(const object_service&) = delete;

  /// Streams the bytes to the blob store (SHA-256 on the way, at most
  /// workflow_options::max_upload_bytes), then records version 1 of a new logical
  /// object with its metadata, in DRAFT. Audits object.uploaded.
  output_object add(const actor& who, const uuid& request_id, const new_object& input,
                    const byte_reader& bytes);

  /// Ingress: records an object whose bytes arrive later (empty checksum,
  /// size 0). Audits object.slot_created.
  output_object add_slot(const actor& who, const uuid& request_id, const new_object& input);

  /// Ingress: streams the slot's bytes and fills in its checksum and size —
  /// the only content change an object ever gets. Audits object.upload_confirmed.
  output_object confirm_upload(const actor& who, const uuid& request_id, const uuid& object_id,
                               const byte_reader& bytes);

  /// Records version n + 1 (PENDING) of the object's logical object and moves
  /// version n to SUPERSEDED, in one transaction. In DRAFT any live object;
  /// in CHANGES_REQUESTED an object in CHANGES_REQUESTED or REJECTED. Audits
  /// object.replaced and object.state_changed.
  output_object replace(const actor& who, const uuid& request_id, const uuid& object_id,
                        const new_object& input, const byte_reader& bytes);

  /// Partial update of the logical object's metadata, bumping its
  /// lock_version. With `expected_lock_version`, only if the metadata is
  /// still at that version (else conflict, after every other check); without
  /// it, to the current row. DRAFT or CHANGES_REQUESTED only. Audits
  /// object.metadata_updated with the fields' before/after values.
  object_metadata edit_metadata(const actor& who, const uuid& request_id, const uuid& object_id,
                                const metadata_patch& patch,
                                std::optional<std::int64_t> expected_lock_version = std::nullopt);

  std::vector<output_object> list(const actor& who, const uuid& request_id,
                                  bool include_superseded = false) const;
  output_object get(const actor& who, const uuid& request_id, const uuid& object_id) const;
  /// Every version of the object's logical object, oldest first.
  std::vector<output_object> versions(const actor& who, const uuid& request_id,
                                      const uuid& object_id) const;
  object_metadata metadata(const actor& who, const uuid& request_id, const uuid& object_id) const;

  /// Streams an object's bytes to a checker of the project, tre_admin or the
  /// agent (never the request's owner) and audits object.downloaded. The audit event is committed
  /// before the first byte is written.
  void download(const actor& who, const uuid& request_id, const uuid& object_id,
                const byte_writer& sink);

  /// download() without the streaming: authorises the same readers, commits
  /// the same object.downloaded event and returns what to stream (the
  /// object's blob, its file name, application/octet-stream, size and
  /// checksum), so the caller streams it where it likes (trevord: off its
  /// database workers). Streams nothing.
  blob_download open_download(const actor& who, const uuid& request_id, const uuid& object_id);

  // ------------------------------------------- ingress slots by link

  /// Ingress, tre_admin or a senior checker on the project while DRAFT: a
  /// signed link (workflow_options::upload_link_ttl) through which the slot's bytes
  /// may be PUT without other credentials. Audits object.upload_link_issued.
  upload_link issue_upload_link(const actor& who, const uuid& request_id, const uuid& object_id);

  /// The upload through a slot's link: object_service::confirm_upload() with the link as the
  /// credential (forbidden for a bad, expired or another slot's token;
  /// conflict when the slot is already filled). Audits
  /// object.upload_confirmed with actor "link".
  output_object upload_through_link(const uuid& request_id, const uuid& object_id,
                                    std::string_view token, const link_client& client,
                                    const byte_reader& bytes);

 private:
  detail::workflow_state& s_;
};

}  // namespace trevor
