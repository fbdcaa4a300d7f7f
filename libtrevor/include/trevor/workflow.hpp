#pragma once
// trevor::workflow — the airlock's operations on requests, objects, metadata
// and reviews.
//
// Every mutating member function is one database transaction that checks the
// policy (trevor/policy.hpp), writes the change, its audit event(s) and its
// notification rows, and commits — or throws trevor::error and changes
// nothing. Object bytes go to the blob store before that transaction; when the
// transaction fails they are discarded again, so a rejected upload leaves no
// file behind.
//
// Errors: not_found for an unknown id or one the actor may not see (members
// of the request's project, tre_admin and the agent see a request);
// forbidden for a visible thing the actor may not change (and for a
// deactivated user); invalid_transition when the request's status does not
// allow the operation; conflict for a concurrent change (metadata
// lock_version) or a duplicate; invalid_argument for malformed input, with
// the field named.
//
// Thread-safety: all member functions may be called concurrently; concurrent
// operations on one request are serialised by the database (conditional
// updates and row locks) so that of two transitions from the same state
// exactly one succeeds.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "trevor/actor.hpp"
#include "trevor/audit.hpp"
#include "trevor/blob_store.hpp"
#include "trevor/database.hpp"
#include "trevor/model.hpp"
#include "trevor/policy.hpp"
#include "trevor/signed_link.hpp"

namespace trevor {

struct workflow_options {
  /// Distinct reviewers that close a round, the agent counting as one
  /// (TREVOR_REQUIRED_REVIEWS). At least 2: the two-person rule.
  int required_reviews = default_required_reviews;
  /// TREVOR_AGENT_REVIEW=external: submissions wait for the agent's review.
  bool agent_review = false;
  /// TREVOR_MAX_UPLOAD_MB.
  std::int64_t max_upload_bytes = std::int64_t{500} * 1024 * 1024;
  /// TREVOR_STUCK_HOURS: how long a request may wait in SUBMITTED,
  /// AGENT_REVIEW or HUMAN_REVIEW before the sweep reports it.
  std::chrono::hours stuck_after{72};

  // Release, delivery and their links (libtrevor/README.md, "Release and delivery").
  /// TREVOR_LINK_SECRET: the HMAC key of download and upload links, shared
  /// by every daemon (at least 32 bytes). Empty: a random key of this
  /// workflow object, so links die with it (development and tests).
  std::string link_secret;
  /// TREVOR_PUBLIC_URL: what links start with (scheme, host, port, any
  /// path prefix, no trailing '/'). Empty: links are paths ("/requests/…").
  std::string public_url;
  /// How long links stay valid: a release's package (TREVOR_RELEASE_LINK_HOURS,
  /// 7 days), a delivery's objects (TREVOR_DELIVERY_LINK_HOURS, 24 h), an
  /// ingress slot's upload (TREVOR_UPLOAD_LINK_HOURS, 24 h).
  std::chrono::seconds release_link_ttl = std::chrono::hours(24 * 7);
  std::chrono::seconds delivery_link_ttl = std::chrono::hours(24);
  std::chrono::seconds upload_link_ttl = std::chrono::hours(24);
  /// TREVOR_LINK_WARNING_HOURS: the expiry sweep tells a release's owner
  /// this long before the link expires (once per release).
  std::chrono::seconds link_warning = std::chrono::hours(24);
  /// A release still RELEASING after this long was interrupted (its daemon
  /// stopped mid-way); the sweep returns it to APPROVED
  /// (TREVOR_RELEASE_TIMEOUT_MINUTES).
  std::chrono::seconds release_timeout = std::chrono::minutes(60);
  /// Where a release's package is assembled before it goes to the blob
  /// store (it needs room for the package). Empty: the system's temporary
  /// directory.
  std::filesystem::path scratch_dir;
  /// TREVOR_RELEASE_LICENSE: the licence a release package states (its root
  /// Dataset's `license`). An http:// or https:// URL names the licence
  /// itself; any other text describes the terms; empty: "not licensed for
  /// reuse".
  std::string release_license;
};

/// Limits on request and object text in characters (Unicode code points, as
/// the database's length() counts them), checked before any write; text
/// must be valid UTF-8.
inline constexpr std::size_t max_title_length = 300;
inline constexpr std::size_t max_description_length = 20'000;
inline constexpr std::size_t max_filename_length = 255;
inline constexpr std::size_t max_statbarn_length = 64;
inline constexpr std::size_t max_metadata_text = 20'000;
inline constexpr std::size_t max_tags_json = 20'000;

struct new_request {
  uuid project_id;
  trevor::direction direction = direction::egress;
  std::string title;  // 1..max_title_length characters, not only blanks
  std::string description;
};

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
  metadata_patch metadata;  // initial metadata of a new logical object
};

struct agent_review_input {
  review_decision decision = review_decision::approved;  // or escalated
  std::string summary;
  std::string findings_json = "[]";  // the rule engine's results, stored as given (JSON)
};

/// Who used a signed link, for the audit trail (the link is the only
/// credential; there is no user).
struct link_client {
  std::string address;     // the client's address as the server saw it
  std::string user_agent;  // at most 255 bytes are kept
};

/// A download a link authorised: what to stream (read_blob()) and how to
/// label it. Its audit event is committed before it is returned.
struct blob_download {
  std::string storage_key;
  std::string filename;
  std::string content_type;
  std::int64_t size_bytes = 0;
  std::string checksum_sha256;
};

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

struct upload_link {
  uuid object_id;
  std::string upload_url;
  timestamp expires_at;
};

/// The paths links point at (trevord serves them; the token is the only
/// credential). Prefixed with workflow_options::public_url.
std::string release_download_path(const uuid& request_id, std::string_view token);
std::string delivered_object_path(const uuid& request_id, const uuid& object_id,
                                  std::string_view token);
std::string slot_upload_path(const uuid& request_id, const uuid& object_id, std::string_view token);

/// A request with its live objects (superseded versions left out), read in
/// one transaction.
struct request_detail {
  airlock_request request;
  std::vector<output_object> objects;
};

struct request_list_filter {
  std::optional<uuid> project_id;
  std::optional<request_status> status;
};

class workflow {
 public:
  /// `blobs` must outlive the workflow. `ids` (optional) replaces UUIDv7
  /// generation, for deterministic tests.
  workflow(database db, blob_store& blobs, workflow_options options = {}, id_source* ids = nullptr);

  const workflow_options& options() const noexcept { return options_; }

  // ------------------------------------------------------------ requests

  /// — → DRAFT. Egress: a researcher on the project; ingress: tre_admin or a
  /// senior checker on it. The project must be active. Audits request.created.
  airlock_request create_request(const actor& who, const new_request& input);

  /// DRAFT → SUBMITTED (agent on) or HUMAN_REVIEW (agent off), by the owner or
  /// tre_admin; needs a live object and every ingress slot confirmed. Audits
  /// request.submitted and notifies every checker of the project.
  airlock_request submit(const actor& who, const uuid& request_id);

  /// CHANGES_REQUESTED → SUBMITTED or HUMAN_REVIEW, starting round n + 1; needs
  /// no live object still CHANGES_REQUESTED and at least one PENDING object.
  airlock_request resubmit(const actor& who, const uuid& request_id);

  /// DRAFT or CHANGES_REQUESTED → WITHDRAWN, by the owner or tre_admin.
  airlock_request withdraw(const actor& who, const uuid& request_id);

  airlock_request get_request(const actor& who, const uuid& request_id) const;
  /// get_request() and list_objects() in one read transaction.
  request_detail get_request_detail(const actor& who, const uuid& request_id) const;
  /// The request's whole audit trail, oldest first (by occurred_at, seq), for
  /// whoever may see the request.
  std::vector<audit_event> request_audit(const actor& who, const uuid& request_id) const;
  /// How many requests are in each status (every status listed, zeros
  /// included): the daemon's metrics. No actor: operators' figures.
  std::vector<std::pair<request_status, std::int64_t>> count_requests_by_status() const;
  /// tre_admin and the agent see every request; anyone else those of their
  /// projects. Newest first.
  std::vector<airlock_request> list_requests(const actor& who,
                                             const request_list_filter& filter = {}) const;

  // ------------------------------------------------------------- objects

  /// Streams the bytes to the blob store (SHA-256 on the way, at most
  /// options().max_upload_bytes), then records version 1 of a new logical
  /// object with its metadata, in DRAFT. Audits object.uploaded.
  output_object add_object(const actor& who, const uuid& request_id, const new_object& input,
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
  output_object replace_object(const actor& who, const uuid& request_id, const uuid& object_id,
                               const new_object& input, const byte_reader& bytes);

  /// Partial update of the logical object's metadata, bumping its
  /// lock_version. With `expected_lock_version`, only if the metadata is
  /// still at that version (else conflict, after every other check); without
  /// it, to the current row. DRAFT or CHANGES_REQUESTED only. Audits
  /// object.metadata_updated with the fields' before/after values.
  object_metadata edit_metadata(const actor& who, const uuid& request_id, const uuid& object_id,
                                const metadata_patch& patch,
                                std::optional<std::int64_t> expected_lock_version = std::nullopt);

  std::vector<output_object> list_objects(const actor& who, const uuid& request_id,
                                          bool include_superseded = false) const;
  output_object get_object(const actor& who, const uuid& request_id, const uuid& object_id) const;
  /// Every version of the object's logical object, oldest first.
  std::vector<output_object> object_versions(const actor& who, const uuid& request_id,
                                             const uuid& object_id) const;
  object_metadata get_metadata(const actor& who, const uuid& request_id,
                               const uuid& object_id) const;

  /// Streams an object's bytes to a checker of the project, tre_admin or the
  /// agent (never the request's owner) and audits object.downloaded. The audit event is committed
  /// before the first byte is written.
  void download_object(const actor& who, const uuid& request_id, const uuid& object_id,
                       const byte_writer& sink);

  // ------------------------------------------------------------- reviews

  /// A human review of the current round (libtrevor/README.md, "Review rules"). Appends per-object
  /// feedback to the objects' checker_feedback; when the review completes the
  /// round, closes it in the same transaction (status, object states, events
  /// and notifications). Audits review.created.
  review record_review(const actor& who, const uuid& request_id, const human_review_input& input);

  /// SUBMITTED → AGENT_REVIEW, by the agent. Audits
  /// request.agent_review_started with agent.audit_actor() as the actor.
  airlock_request start_agent_review(const agent_credential& agent, const uuid& request_id);

  /// Records the agent's review of the current round and moves the request to
  /// HUMAN_REVIEW (from SUBMITTED through AGENT_REVIEW in one call). A second
  /// agent review in a round is a conflict. Notifies the project's checkers
  /// (agent_review.ready). The events name agent.audit_actor().
  review record_agent_review(const agent_credential& agent, const uuid& request_id,
                             const agent_review_input& input);

  std::vector<review> list_reviews(const actor& who, const uuid& request_id) const;
  review get_review(const actor& who, const uuid& request_id, const uuid& review_id) const;

  // ------------------------------------------------- release and delivery

  /// Egress, tre_admin: APPROVED → RELEASING → RELEASED. Re-reads every
  /// APPROVED object from the blob store while packaging it into an RO-Crate
  /// zip, comparing SHA-256 and size with the recorded ones; stores the
  /// package under release_storage_key() with its own SHA-256, writes the
  /// release record with a download link (options().release_link_ttl),
  /// audits request.releasing and request.released and notifies the owner.
  /// On a mismatch (conflict, naming the object) or a storage failure
  /// (internal): no package, the request back in APPROVED and
  /// request.release_failed audited with the reason.
  release_record release(const actor& who, const uuid& request_id);

  /// The release record (members of the project and tre_admin), with its
  /// current link and that link's token; not_found before the release.
  release_record get_release(const actor& who, const uuid& request_id) const;

  /// tre_admin: a new download link for a release, valid for
  /// options().release_link_ttl from now; the previous link stops working
  /// and the expiry warning is due again. Audits release.link_issued.
  release_record renew_release_link(const actor& who, const uuid& request_id);

  /// A download through a release link: forbidden unless `token` is the
  /// release's current, unexpired link (database time). Audits
  /// release.downloaded.
  blob_download release_download(const uuid& request_id, std::string_view token,
                                 const link_client& client);

  /// Ingress, tre_admin or a senior checker on the project while DRAFT: a
  /// signed link (options().upload_link_ttl) through which the slot's bytes
  /// may be PUT without other credentials. Audits object.upload_link_issued.
  upload_link issue_upload_link(const actor& who, const uuid& request_id, const uuid& object_id);

  /// The upload through a slot's link: confirm_upload() with the link as the
  /// credential (forbidden for a bad, expired or another slot's token;
  /// conflict when the slot is already filled). Audits
  /// object.upload_confirmed with actor "link".
  output_object upload_through_link(const uuid& request_id, const uuid& object_id,
                                    std::string_view token, const link_client& client,
                                    const byte_reader& bytes);

  /// Ingress, tre_admin: APPROVED → RELEASED with a delivery record and a
  /// download link per APPROVED object (options().delivery_link_ttl).
  /// Audits request.delivered and notifies the owner (the admin who created
  /// the request) and every active researcher of the project.
  delivery deliver(const actor& who, const uuid& request_id);

  /// The delivery with fresh links (same expiry) for its objects (members
  /// and tre_admin); not_found before delivery.
  delivery get_delivery(const actor& who, const uuid& request_id) const;

  /// A download through a delivery link: forbidden unless the token was
  /// made for this object and has not expired. Audits delivery.downloaded.
  blob_download delivered_object_download(const uuid& request_id, const uuid& object_id,
                                          std::string_view token, const link_client& client);

  /// Streams a download's bytes (after release_download() or
  /// delivered_object_download()).
  void read_blob(const blob_download& d, const byte_writer& sink) const;

  // --------------------------------------------------------------- sweeps

  /// Notifies every checker of each request waiting in SUBMITTED,
  /// AGENT_REVIEW or HUMAN_REVIEW for longer than options().stuck_after since
  /// its last status change (request.stuck, audited), at most once per request
  /// per stuck period, even with several daemons sweeping at once. Returns the
  /// requests reported by this call.
  std::vector<airlock_request> sweep_stuck_requests();

  /// Tells the owner of each release whose link expires within
  /// options().link_warning (presigned_url.expiring_soon, audited) — once
  /// per link, even with several daemons sweeping. Returns the records warned.
  std::vector<release_record> sweep_expiring_links();

  /// Returns to APPROVED every request left RELEASING for longer than
  /// options().release_timeout (request.release_failed, reason
  /// "interrupted"). Returns the requests moved.
  std::vector<airlock_request> sweep_interrupted_releases();

 private:
  airlock_request move_request(const actor& who, const uuid& request_id, operation op);
  void fail_release(const uuid& request_id, const std::string& actor_name, std::string_view reason,
                    const std::string& detail);
  std::string url_of(const std::string& path) const { return options_.public_url + path; }
  uuid next_id() { return ids_ ? ids_->next() : uuid::v7(); }

  database db_;
  blob_store& blobs_;
  workflow_options options_;
  id_source* ids_;
  link_signer links_;
};

}  // namespace trevor
