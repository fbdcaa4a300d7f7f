#pragma once
// What the services share (internal): actor checks, the per-transaction
// collection of audit events and notifications, JSON payloads.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "db/connection.hpp"
#include "store/requests.hpp"
#include "trevor/audit.hpp"
#include "trevor/model.hpp"
#include "trevor/policy.hpp"
#include "trevor/workflow.hpp"

namespace trevor::detail {

class write_chain;

/// Throws forbidden unless `active` says the actor is a known, active user.
void require_active(const std::optional<bool>& active);

/// The actor's user row; forbidden unless it exists and is active (the
/// agent has none: forbidden).
user require_active_user(connection& c, const actor& who);

/// The policy's view of `who` on a request.
actor_facts facts_of(const actor& who, const request_facts& f);

/// Throws not_found (naming the request) unless the actor may see it.
void require_visible(const actor_facts& a, const uuid& request_id);

/// Throws forbidden unless `a` acts as the rule's party.
void require_party(const transition_rule& rule, const actor_facts& a, direction d);

/// The request's facts for a reader: not_found unless it exists and `who`
/// may see it; forbidden for a deactivated actor. The agent sees every
/// request.
request_facts visible_request(connection& c, const uuid& request_id, const actor& who,
                              bool lock = false);

/// visible_request() for operations that only read: the same refusals, from
/// a lighter statement; returns the request alone.
airlock_request readable_request(connection& c, const uuid& request_id, const actor& who);

/// readable_request() with the reader's facts (roles) kept.
request_facts readable_request_facts(connection& c, const uuid& request_id, const actor& who);

/// Independent review: the reviews hidden from `who` on the request of `f`
/// (hidden_reviews() in trevor/policy.hpp), reading the current round's
/// reviews only when the rule can hide anything. Empty when `independent`
/// (workflow_options::independent_review) is off. Call it after reading
/// what it filters: a review committed in between is then in both reads.
std::vector<review> reviews_hidden_from(connection& c, const request_facts& f, const actor& who,
                                        bool independent);

/// Whether review `id` is one of `hidden`.
bool is_hidden(const std::vector<review>& hidden, const uuid& id);

/// The object `object_id` of request `request_id` (any version); not_found
/// when it does not exist or belongs to another request.
output_object object_in_request(connection& c, const uuid& request_id, const uuid& object_id);

/// The audit events and notification rows of one transaction, written with
/// one multi-row INSERT each when flushed (after the change itself, in the
/// same transaction).
class event_batch {
 public:
  explicit event_batch(id_source* ids) : ids_(ids) {}

  void event(std::string actor, std::string_view type, std::optional<uuid> request_id,
             std::optional<uuid> project_id, const boost::json::object& payload);
  /// One row per recipient (duplicates dropped).
  void notify(const std::vector<uuid>& recipients, std::string_view type, std::string title,
              std::string body, const std::optional<uuid>& request_id);

  /// Writes the events and notifications: on PostgreSQL in one statement.
  void write(connection& c);
  /// Adds them to a transition's other writes (run together).
  void add_to(write_chain& w) const;

  const std::vector<audit_event_input>& events() const noexcept { return events_; }

 private:
  uuid next() { return ids_ ? ids_->next() : uuid::v7(); }
  id_source* ids_;
  std::vector<audit_event_input> events_;
  std::vector<uuid> event_ids_;
  std::vector<notification> notes_;
};

/// A blob written for a transaction that has not committed yet: discarded
/// unless kept, so a failed operation leaves no file behind.
class pending_blob {
 public:
  pending_blob(blob_store& store, std::string key) : store_(store), key_(std::move(key)) {}
  pending_blob(const pending_blob&) = delete;
  pending_blob& operator=(const pending_blob&) = delete;
  ~pending_blob() {
    if (!kept_) store_.discard(key_);
  }
  void keep() noexcept { kept_ = true; }

 private:
  blob_store& store_;
  std::string key_;
  bool kept_ = false;
};

/// The actor column of an audit event: the user's id, or the agent's name.
inline std::string actor_name(const actor& who) {
  return who.agent ? who.agent->audit_actor() : who.user_id.str();
}

/// `t` moved `by` later (link expiries, sweep thresholds).
inline timestamp later(timestamp t, std::chrono::seconds by) {
  return timestamp(t.micros() + std::chrono::duration_cast<std::chrono::microseconds>(by).count());
}

/// The payload fields of an event caused through a signed link: the link's
/// id, the client's address and User-Agent (at most 255 bytes).
boost::json::object link_use(const link_client& client, std::string_view token);

/// RELEASING → APPROVED with request.release_failed in `batch`; nullopt when
/// the request is no longer RELEASING (someone else settled it).
std::optional<airlock_request> return_to_approved(connection& c, event_batch& batch,
                                                  const uuid& request_id,
                                                  const std::string& actor_name,
                                                  std::string_view reason,
                                                  const std::string& detail);

/// JSON helpers for payloads.
boost::json::value json_of(const std::optional<uuid>& id);
boost::json::object status_change(request_status from, request_status to, std::int64_t round);
/// The payload of object.state_changed: object `o` leaves its state for `to`.
boost::json::object object_state_change(const output_object& o, object_state to);

/// Throws invalid_argument unless `text` parses as a JSON object (`what`
/// names the field).
void require_json_object(std::string_view text, std::string_view what);
/// Throws invalid_argument unless `text` parses as JSON (any value).
void require_json(std::string_view text, std::string_view what);

/// The number of Unicode code points in `text`; nullopt unless it is valid
/// UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
std::optional<std::size_t> utf8_length(std::string_view text) noexcept;

/// Throws invalid_argument naming `what` when `text` is not valid UTF-8, is
/// longer than `max` characters (code points, as the database's length()
/// counts them), contains a NUL, or (if `required`) is empty or only blanks.
void check_text(std::string_view text, std::string_view what, std::size_t max, bool required);

struct workflow_state;

/// AGENT_REVIEW → SUBMITTED with request.agent_review_failed (reason,
/// attempt) by `actor_name`, inside the caller's transaction; returns the
/// attempt number. review_service::fail_agent_review() and the sweep of
/// interrupted agent reviews.
int fail_agent_review_in(connection& c, workflow_state& s, const uuid& request_id,
                         const std::string& actor_name, std::string_view reason);

/// This process as the holder of a long operation (a release): "host:pid".
const std::string& this_process();
/// Whether the holder `this_process()` once named is certainly gone: on this
/// host, with no process of that pid. False when unsure (another host, a
/// malformed holder, a pid now used by another process).
bool process_gone(std::string_view holder);

}  // namespace trevor::detail
