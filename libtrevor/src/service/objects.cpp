// workflow: objects — uploads, ingress slots, replacement, metadata, downloads.
#include <algorithm>

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "db/transaction.hpp"
#include "service/common.hpp"
#include "service/workflow_state.hpp"
#include "store/dashboard.hpp"
#include "store/objects.hpp"
#include "store/requests.hpp"
#include "trevor/error.hpp"

namespace trevor {

using detail::connection;
using detail::event_batch;
using mode = detail::transaction::mode;

namespace {

void check_filename(std::string_view name) {
  detail::check_text(name, "filename", max_filename_length, true);
  bool ok = name != "." && name != "..";
  for (char c : name)
    ok = ok && c != '/' && c != '\\' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  if (!ok)
    throw error(errc::invalid_argument,
                "filename: must be a plain file name (no '/', '\\', control characters, "
                "'.' or '..')");
}

void check_patch(const metadata_patch& p) {
  if (p.title) detail::check_text(*p.title, "title", max_metadata_text, false);
  if (p.description) detail::check_text(*p.description, "description", max_metadata_text, false);
  if (p.researcher_justification)
    detail::check_text(*p.researcher_justification, "researcher_justification", max_metadata_text,
                       false);
  if (p.suppression_notes)
    detail::check_text(*p.suppression_notes, "suppression_notes", max_metadata_text, false);
  if (p.tags_json) {
    detail::check_text(*p.tags_json, "tags", max_tags_json, false);
    detail::require_json_object(*p.tags_json, "tags");
  }
}

void check_new_object(const new_object& in) {
  check_filename(in.filename);
  detail::check_text(in.statbarn, "statbarn", max_statbarn_length, false);
  check_patch(in.metadata);
}

/// The rule for a content operation on the request as it is now: forbidden
/// for the wrong party, invalid_transition in the wrong status.
void check_content_op(const detail::request_facts& f, const actor& who, operation op) {
  const auto d = f.request.direction;
  const auto a = detail::facts_of(who, f);
  if (const auto* rule = first_rule(op, d)) detail::require_party(*rule, a, d);
  require_transition(f.request.status, op, d, f.request.status);
}

/// In CHANGES_REQUESTED only objects the reviewers sent back may be replaced.
void check_replaceable(const airlock_request& r, const output_object& o) {
  if (o.state == object_state::superseded)
    throw error(errc::invalid_transition,
                fmt::format("object {} is SUPERSEDED (version {}); replace the live version",
                            o.id.str(), o.version));
  if (r.status == request_status::changes_requested && o.state != object_state::changes_requested &&
      o.state != object_state::rejected)
    throw error(errc::invalid_transition,
                fmt::format("object {} is {}; while changes are requested only objects in "
                            "CHANGES_REQUESTED or REJECTED may be replaced",
                            o.id.str(), to_string(o.state)));
}

/// A new object version's row from the caller's input (state PENDING),
/// stored under `key` with the bytes `blob` (nullptr: an ingress slot, whose
/// bytes arrive later).
output_object object_row(const uuid& id, const uuid& request_id, const uuid& logical_id,
                         std::int64_t version, const new_object& in, const actor& who,
                         std::string key, const blob_info* blob) {
  output_object o;
  o.id = id;
  o.request_id = request_id;
  o.logical_object_id = logical_id;
  o.version = version;
  o.filename = in.filename;
  o.output_type = in.output_type;
  o.statbarn = in.statbarn;
  o.supporting = in.supporting;
  o.uploaded_by = who.user_id;
  o.storage_key = std::move(key);
  if (blob) {
    o.checksum_sha256 = blob->sha256;
    o.size_bytes = blob->size;
  }
  return o;
}

boost::json::object object_payload(const output_object& o) {
  return {{"object_id", o.id.str()},    {"logical_object_id", o.logical_object_id.str()},
          {"version", o.version},       {"replaces_id", detail::json_of(o.replaces_id)},
          {"filename", o.filename},     {"output_type", to_string(o.output_type)},
          {"statbarn", o.statbarn},     {"checksum_sha256", o.checksum_sha256},
          {"size_bytes", o.size_bytes}, {"state", to_string(o.state)},
          {"supporting", o.supporting}};
}

/// Applies `p` to `m`; returns {field: {from, to}} for the fields that changed.
boost::json::object apply_patch(object_metadata& m, const metadata_patch& p) {
  boost::json::object changes;
  auto set = [&](std::string_view name, std::string& field, const std::optional<std::string>& v) {
    if (!v || *v == field) return;
    changes[name] = {{"from", field}, {"to", *v}};
    field = *v;
  };
  set("title", m.title, p.title);
  set("description", m.description, p.description);
  set("researcher_justification", m.researcher_justification, p.researcher_justification);
  set("suppression_notes", m.suppression_notes, p.suppression_notes);
  set("tags", m.tags_json, p.tags_json);
  return changes;
}

object_metadata new_metadata(const uuid& logical_id, const uuid& request_id,
                             const metadata_patch& p) {
  object_metadata m;
  m.logical_object_id = logical_id;
  m.request_id = request_id;
  apply_patch(m, p);
  return m;
}

/// Inserts version 1 of a new logical object `o` with its metadata from
/// `in`, audited as `event_type`, in request `f`'s transaction.
output_object insert_new_object(connection& c, const detail::request_facts& f,
                                const output_object& o, const new_object& in, const actor& who,
                                std::string_view event_type, id_source* ids) {
  auto obj = detail::insert_object(c, o);
  detail::insert_metadata(c, new_metadata(o.logical_object_id, o.request_id, in.metadata));
  event_batch batch(ids);
  batch.event(detail::actor_name(who), event_type, o.request_id, f.request.project_id,
              object_payload(obj));
  batch.write(c);
  return obj;
}

/// Writes a metadata change (optimistic on m.lock_version) and its event.
object_metadata write_metadata(connection& c, const object_metadata& m, boost::json::object changes,
                               const output_object& o, const actor& who, event_batch& batch,
                               const airlock_request& r) {
  auto updated = detail::update_metadata(c, m);
  if (!updated)
    throw error(errc::conflict, "lock_version: the metadata changed concurrently; reload it");
  batch.event(detail::actor_name(who), "object.metadata_updated", r.id, r.project_id,
              {{"object_id", o.id.str()},
               {"logical_object_id", o.logical_object_id.str()},
               {"lock_version", updated->lock_version},
               {"changes", std::move(changes)}});
  return *updated;
}

}  // namespace

output_object object_service::add(const actor& who, const uuid& request_id, const new_object& input,
                                  const byte_reader& bytes) {
  check_new_object(input);
  const uuid object_id = s_.next_id(), logical_id = s_.next_id();
  // Refuse before streaming: a doomed upload is not worth its bytes.
  const auto project_id =
      detail::run_transaction(s_.db.impl(), mode::read, "add object", [&](connection& c) {
        const auto f = detail::visible_request(c, request_id, who);
        check_content_op(f, who, operation::add_object);
        return f.request.project_id;
      });
  const auto key =
      object_storage_key(project_id, request_id, logical_id, 1, object_id, input.filename);
  const auto blob = s_.blobs.put(key, bytes, s_.options.max_upload_bytes);
  detail::pending_blob guard(s_.blobs, key);
  auto stored =
      detail::run_transaction(s_.db.impl(), mode::write, "add object", [&](connection& c) {
        const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
        check_content_op(f, who, operation::add_object);
        return insert_new_object(
            c, f, object_row(object_id, request_id, logical_id, 1, input, who, key, &blob), input,
            who, "object.uploaded", s_.ids);
      });
  guard.keep();
  return stored;
}

output_object object_service::add_slot(const actor& who, const uuid& request_id,
                                       const new_object& input) {
  check_new_object(input);
  const uuid object_id = s_.next_id(), logical_id = s_.next_id();
  return detail::run_transaction(s_.db.impl(), mode::write, "add slot", [&](connection& c) {
    const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
    check_content_op(f, who, operation::add_slot);
    auto key = object_storage_key(f.request.project_id, request_id, logical_id, 1, object_id,
                                  input.filename);
    return insert_new_object(
        c, f, object_row(object_id, request_id, logical_id, 1, input, who, std::move(key), nullptr),
        input, who, "object.slot_created", s_.ids);
  });
}

namespace {

/// An ingress slot's single fill-in: streams the bytes under the slot's key,
/// then, if `recheck` (run in the write transaction, with the request
/// locked) still allows it, records checksum and size and audits
/// object.upload_confirmed as `actor_name` with `extra` in the payload.
output_object fill_slot(detail::database_impl& db, blob_store& blobs, id_source* ids,
                        std::int64_t max_bytes, const output_object& slot, const byte_reader& bytes,
                        const std::function<uuid(connection&)>& recheck,
                        const std::string& actor_name, const boost::json::object& extra) {
  // put() refuses an existing key: of two concurrent uploads to one slot,
  // one gets a conflict here.
  const auto blob = blobs.put(slot.storage_key, bytes, max_bytes);
  detail::pending_blob guard(blobs, slot.storage_key);
  auto stored = detail::run_transaction(db, mode::write, "confirm upload", [&](connection& c) {
    const auto project_id = recheck(c);
    auto o = detail::confirm_object_upload(c, slot.id, blob.sha256, blob.size);
    if (!o || o->request_id != slot.request_id)
      throw error(errc::conflict,
                  fmt::format("object {}: its upload is already confirmed", slot.id.str()));
    boost::json::object payload{{"object_id", o->id.str()},
                                {"checksum_sha256", o->checksum_sha256},
                                {"size_bytes", o->size_bytes}};
    for (const auto& [k, v] : extra) payload[k] = v;
    event_batch batch(ids);
    batch.event(actor_name, "object.upload_confirmed", slot.request_id, project_id, payload);
    batch.write(c);
    return *o;
  });
  guard.keep();
  return stored;
}

/// The slot `object_id` of `request_id`; conflict once it has its bytes.
output_object unfilled_slot(connection& c, const uuid& request_id, const uuid& object_id) {
  auto o = detail::object_in_request(c, request_id, object_id);
  if (!o.checksum_sha256.empty())
    throw error(errc::conflict,
                fmt::format("object {}: its upload is already confirmed", object_id.str()));
  return o;
}

}  // namespace

output_object object_service::confirm_upload(const actor& who, const uuid& request_id,
                                             const uuid& object_id, const byte_reader& bytes) {
  const auto slot =
      detail::run_transaction(s_.db.impl(), mode::read, "confirm upload", [&](connection& c) {
        const auto f = detail::visible_request(c, request_id, who);
        check_content_op(f, who, operation::confirm_upload);
        return unfilled_slot(c, request_id, object_id);
      });
  return fill_slot(s_.db.impl(), s_.blobs, s_.ids, s_.options.max_upload_bytes, slot, bytes,
                   [&](connection& c) {
                     const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
                     check_content_op(f, who, operation::confirm_upload);
                     return f.request.project_id;
                   },
                   detail::actor_name(who), {});
}

upload_link object_service::issue_upload_link(const actor& who, const uuid& request_id,
                                              const uuid& object_id) {
  return detail::run_transaction(s_.db.impl(), mode::write, "upload link", [&](connection& c) {
    const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
    check_content_op(f, who, operation::confirm_upload);
    const auto slot = unfilled_slot(c, request_id, object_id);
    upload_link l;
    l.object_id = slot.id;
    l.expires_at = detail::later(detail::database_now(c), s_.options.upload_link_ttl);
    const auto token = s_.links.issue({link_purpose::slot_upload, slot.id, l.expires_at});
    l.upload_url = s_.options.public_url + slot_upload_path(request_id, slot.id, token);
    event_batch batch(s_.ids);
    batch.event(detail::actor_name(who), "object.upload_link_issued", request_id,
                f.request.project_id,
                {{"object_id", slot.id.str()},
                 {"link_id", link_signer::link_id(token)},
                 {"url_expires_at", l.expires_at.str()}});
    batch.write(c);
    return l;
  });
}

output_object object_service::upload_through_link(const uuid& request_id, const uuid& object_id,
                                                  std::string_view token, const link_client& client,
                                                  const byte_reader& bytes) {
  // The link is the credential: checked first, against the database's clock.
  // The request must still accept the slot's bytes (an ingress DRAFT).
  auto open_slot = [&](connection& c, bool lock) {
    s_.links.verify(token, link_purpose::slot_upload, object_id, detail::database_now(c));
    const auto o = detail::find_object(c, object_id);
    if (!o || o->request_id != request_id)
      throw error(errc::forbidden, "link token refused: made for another request");
    auto r = lock ? detail::load_request_facts(c, request_id, uuid{}, true)
                  : detail::load_request_for_reader(c, request_id, uuid{});
    if (!r) throw error(errc::not_found, fmt::format("request {} not found", request_id.str()));
    require_transition(r->request.status, operation::confirm_upload, r->request.direction,
                       r->request.status);
    return std::pair{unfilled_slot(c, request_id, object_id), r->request.project_id};
  };
  const auto slot =
      detail::run_transaction(s_.db.impl(), mode::read, "upload through link",
                              [&](connection& c) { return open_slot(c, false).first; });
  return fill_slot(
      s_.db.impl(), s_.blobs, s_.ids, s_.options.max_upload_bytes, slot, bytes,
      [&](connection& c) { return open_slot(c, true).second; }, std::string(link_actor),
      detail::link_use(client, token));
}

output_object object_service::replace(const actor& who, const uuid& request_id,
                                      const uuid& object_id, const new_object& input,
                                      const byte_reader& bytes) {
  check_new_object(input);
  const uuid new_id = s_.next_id();
  struct target {
    uuid project_id;
    output_object old;
  };
  const auto t =
      detail::run_transaction(s_.db.impl(), mode::read, "replace object", [&](connection& c) {
        const auto f = detail::visible_request(c, request_id, who);
        check_content_op(f, who, operation::replace_object);
        auto old = detail::object_in_request(c, request_id, object_id);
        check_replaceable(f.request, old);
        return target{f.request.project_id, std::move(old)};
      });
  const auto version = t.old.version + 1;
  const auto key = object_storage_key(t.project_id, request_id, t.old.logical_object_id, version,
                                      new_id, input.filename);
  const auto blob = s_.blobs.put(key, bytes, s_.options.max_upload_bytes);
  detail::pending_blob guard(s_.blobs, key);
  auto stored =
      detail::run_transaction(s_.db.impl(), mode::write, "replace object", [&](connection& c) {
        const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
        check_content_op(f, who, operation::replace_object);
        const auto old = detail::object_in_request(c, request_id, object_id);
        check_replaceable(f.request, old);
        if (!detail::set_object_state(c, old.id, old.state, object_state::superseded))
          throw error(errc::conflict, "object changed concurrently; retry");
        auto o =
            object_row(new_id, request_id, old.logical_object_id, version, input, who, key, &blob);
        o.replaces_id = old.id;
        o.supporting = old.supporting;  // the logical object's, whatever the input says
        auto obj = detail::insert_object(c, o);
        event_batch batch(s_.ids);
        batch.event(detail::actor_name(who), "object.replaced", request_id, f.request.project_id,
                    object_payload(obj));
        batch.event(detail::actor_name(who), "object.state_changed", request_id,
                    f.request.project_id,
                    detail::object_state_change(old, object_state::superseded));
        if (!input.metadata.empty()) {
          auto m = detail::find_metadata(c, old.logical_object_id);
          if (!m) throw error(errc::internal, "object metadata missing");
          auto changes = apply_patch(*m, input.metadata);
          if (!changes.empty())
            write_metadata(c, *m, std::move(changes), obj, who, batch, f.request);
        }
        batch.write(c);
        return obj;
      });
  guard.keep();
  return stored;
}

object_metadata object_service::edit_metadata(const actor& who, const uuid& request_id,
                                              const uuid& object_id, const metadata_patch& patch,
                                              std::optional<std::int64_t> expected_lock_version) {
  if (patch.empty()) throw error(errc::invalid_argument, "metadata: no field to change");
  check_patch(patch);
  return detail::run_transaction(s_.db.impl(), mode::write, "edit metadata", [&](connection& c) {
    const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
    check_content_op(f, who, operation::edit_metadata);
    const auto o = detail::object_in_request(c, request_id, object_id);
    auto m = detail::find_metadata(c, o.logical_object_id);
    if (!m) throw error(errc::internal, "object metadata missing");
    // Without an expected version the patch applies to the row read here
    // (the request's row lock and the conditional update keep it atomic).
    if (expected_lock_version && m->lock_version != *expected_lock_version)
      throw error(errc::conflict,
                  fmt::format("lock_version: the metadata is at version {}, not {}; reload it",
                              m->lock_version, *expected_lock_version));
    auto changes = apply_patch(*m, patch);
    if (changes.empty()) return *m;  // nothing changed: nothing written
    event_batch batch(s_.ids);
    auto updated = write_metadata(c, *m, std::move(changes), o, who, batch, f.request);
    batch.write(c);
    return updated;
  });
}

std::vector<output_object> object_service::list(const actor& who, const uuid& request_id,
                                                bool include_superseded) const {
  return detail::run_transaction(s_.db.impl(), mode::read, "list objects", [&](connection& c) {
    detail::readable_request(c, request_id, who);
    return detail::list_objects(c, request_id, include_superseded);
  });
}

output_object object_service::get(const actor& who, const uuid& request_id,
                                  const uuid& object_id) const {
  return detail::run_transaction(s_.db.impl(), mode::read, "get object", [&](connection& c) {
    detail::readable_request(c, request_id, who);
    return detail::object_in_request(c, request_id, object_id);
  });
}

std::vector<output_object> object_service::versions(const actor& who, const uuid& request_id,
                                                    const uuid& object_id) const {
  return detail::run_transaction(s_.db.impl(), mode::read, "object versions", [&](connection& c) {
    detail::readable_request(c, request_id, who);
    const auto o = detail::object_in_request(c, request_id, object_id);
    return detail::object_lineage(c, o.logical_object_id);
  });
}

object_metadata object_service::metadata(const actor& who, const uuid& request_id,
                                         const uuid& object_id) const {
  return detail::run_transaction(s_.db.impl(), mode::read, "get metadata", [&](connection& c) {
    const auto f = detail::readable_request_facts(c, request_id, who);
    const auto o = detail::object_in_request(c, request_id, object_id);
    auto m = detail::find_metadata(c, o.logical_object_id);
    if (!m) throw error(errc::internal, "object metadata missing");
    // Independent review: the feedback that reviews hidden from `who` wrote
    // (each entry names its reviewer and carries the review's time) is left
    // out of checker_feedback.
    const auto hidden = detail::reviews_hidden_from(c, f, who, s_.options.independent_review);
    if (!hidden.empty()) {
      auto feedback = boost::json::parse(m->checker_feedback_json);
      auto& entries = feedback.as_array();
      for (auto it = entries.begin(); it != entries.end();) {
        const auto* e = it->if_object();
        const auto* by = e ? e->if_contains("reviewer_id") : nullptr;
        const auto* at = e ? e->if_contains("created_at") : nullptr;
        const bool drop = by && at && by->is_string() && at->is_string() &&
                          std::any_of(hidden.begin(), hidden.end(), [&](const review& r) {
                            return r.reviewer_id && r.reviewer_id->str() == by->as_string() &&
                                   r.created_at.str() == at->as_string();
                          });
        it = drop ? entries.erase(it) : it + 1;
      }
      m->checker_feedback_json = boost::json::serialize(feedback);
    }
    return *m;
  });
}

void object_service::download(const actor& who, const uuid& request_id, const uuid& object_id,
                              const byte_writer& sink) {
  const auto d = open_download(who, request_id, object_id);
  s_.blobs.get(d.storage_key, sink);
}

blob_download object_service::open_download(const actor& who, const uuid& request_id,
                                            const uuid& object_id) {
  return detail::run_transaction(s_.db.impl(), mode::write, "download object", [&](connection& c) {
    const auto f = detail::visible_request(c, request_id, who);
    if (const auto why = download_refusal(detail::facts_of(who, f)))
      throw error(errc::forbidden, fmt::format("download: {}", *why));
    const auto o = detail::object_in_request(c, request_id, object_id);
    if (o.checksum_sha256.empty())
      throw error(errc::not_found,
                  fmt::format("object {}: no bytes uploaded yet", object_id.str()));
    event_batch batch(s_.ids);
    batch.event(detail::actor_name(who), "object.downloaded", request_id, f.request.project_id,
                {{"object_id", o.id.str()},
                 {"filename", o.filename},
                 {"version", o.version},
                 {"checksum_sha256", o.checksum_sha256},
                 {"size_bytes", o.size_bytes}});
    batch.write(c);
    return blob_download{o.storage_key, o.filename, "application/octet-stream", o.size_bytes,
                         o.checksum_sha256};
  });
}

}  // namespace trevor
