#pragma once
// trevor::release_service — what leaves the airlock and how: the egress
// release (an RO-Crate package checked against the reviewed bytes), the
// ingress delivery, and the signed links through which packages and objects
// are downloaded and ingress slots uploaded.
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
#include <string>
#include <string_view>
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

struct delivered_object {
  uuid object_id;
  std::string filename;
  std::string download_url;
  std::string checksum_sha256;
  std::int64_t size_bytes = 0;
};

/// A delivery record with a download link per delivered object (every link
/// expires at record.url_expires_at).
struct delivery {
  delivery_record record;
  std::vector<delivered_object> objects;
};

/// Release, delivery and their links.
class TREVOR_EXPORT release_service {
 public:
  explicit release_service(detail::workflow_state& state) noexcept : s_(state) {}
  release_service(const release_service&) = delete;
  release_service& operator=(const release_service&) = delete;

  /// Egress, tre_admin: APPROVED → RELEASING → RELEASED. Re-reads every
  /// APPROVED object from the blob store while packaging it into an RO-Crate
  /// zip, comparing SHA-256 and size with the recorded ones; stores the
  /// package under release_storage_key() with its own SHA-256, writes the
  /// release record with a download link (workflow_options::release_link_ttl),
  /// audits request.releasing and request.released and notifies the owner.
  /// On a mismatch (conflict, naming the object) or a storage failure
  /// (internal): no package, the request back in APPROVED and
  /// request.release_failed audited with the reason.
  release_record release(const actor& who, const uuid& request_id);

  /// The release record (members of the project and tre_admin), with its
  /// current link and that link's token; not_found before the release.
  release_record get(const actor& who, const uuid& request_id) const;

  /// tre_admin: a new download link for a release, valid for
  /// workflow_options::release_link_ttl from now; the previous link stops working
  /// and the expiry warning is due again. Audits release.link_issued.
  release_record renew_link(const actor& who, const uuid& request_id);

  /// A download through a release link: forbidden unless `token` is the
  /// release's current, unexpired link (database time) and the request is
  /// not REVOKED ("revoked"). Audits release.downloaded with the actor
  /// `link`.
  blob_download download(const uuid& request_id, std::string_view token, const link_client& client);
  /// The same by a signed-in person (or the agent) who presents the link:
  /// release.downloaded names `who` as its actor instead of `link`.
  /// Forbidden for a deactivated or unknown user and for an auditor.
  blob_download download(const actor& who, const uuid& request_id, std::string_view token,
                         const link_client& client);

  /// Egress, tre_admin: RELEASED → REVOKED with a non-blank `reason` (at most
  /// max_reason_length characters; invalid_argument otherwise). The package is
  /// kept (never deleted) and its link refused from then on; renewing the
  /// link is refused too. Audits request.revoked (with the reason and the
  /// release id) and notifies the owner and the human reviewers of the round
  /// that approved the release. invalid_transition for an ingress request
  /// or one that is not RELEASED.
  airlock_request revoke(const actor& who, const uuid& request_id, std::string_view reason);

  /// Ingress, tre_admin: APPROVED → RELEASED with a delivery record and a
  /// download link per APPROVED object (workflow_options::delivery_link_ttl).
  /// Audits request.delivered and notifies the owner (the admin who created
  /// the request) and every active researcher of the project.
  delivery deliver(const actor& who, const uuid& request_id);

  /// The delivery with fresh links (same expiry) for its objects (members
  /// and tre_admin); not_found before delivery.
  delivery get_delivery(const actor& who, const uuid& request_id) const;

  /// A download through a delivery link: forbidden unless the token was
  /// made for this object and has not expired. Audits delivery.downloaded.
  blob_download delivered_download(const uuid& request_id, const uuid& object_id,
                                   std::string_view token, const link_client& client);
  /// The same by a signed-in person (or the agent): delivery.downloaded
  /// names `who` instead of `link` (refusals as for download()).
  blob_download delivered_download(const actor& who, const uuid& request_id, const uuid& object_id,
                                   std::string_view token, const link_client& client);

  /// Streams a download's bytes (after download() or
  /// delivered_download()).
  void read_blob(const blob_download& d, const byte_writer& sink) const;

 private:
  void fail(const uuid& request_id, const std::string& actor_name, std::string_view reason,
            const std::string& detail);
  blob_download release_download(const actor* who, const uuid& request_id, std::string_view token,
                                 const link_client& client);
  blob_download delivery_download(const actor* who, const uuid& request_id, const uuid& object_id,
                                  std::string_view token, const link_client& client);
  detail::workflow_state& s_;
};

}  // namespace trevor
