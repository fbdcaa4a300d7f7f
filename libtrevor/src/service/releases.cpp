// workflow: release (egress), delivery (ingress), their signed links and sweeps.
#include <unistd.h>

#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "blob/adopt.hpp"
#include "db/transaction.hpp"
#include "release/crate.hpp"
#include "service/common.hpp"
#include "service/workflow_state.hpp"
#include "store/dashboard.hpp"
#include "store/objects.hpp"
#include "store/records.hpp"
#include "store/requests.hpp"
#include "store/reviews.hpp"
#include "store/users.hpp"
#include "trevor/audit_trail.hpp"
#include "trevor/error.hpp"

namespace trevor {

using detail::connection;
using detail::event_batch;
using mode = detail::transaction::mode;

std::string release_download_path(const uuid& request_id, std::string_view token) {
  return fmt::format("/requests/{}/release/download?token={}", request_id.str(), token);
}

std::string delivered_object_path(const uuid& request_id, const uuid& object_id,
                                  std::string_view token) {
  return fmt::format("/requests/{}/delivery/objects/{}?token={}", request_id.str(), object_id.str(),
                     token);
}

std::string slot_upload_path(const uuid& request_id, const uuid& object_id,
                             std::string_view token) {
  return fmt::format("/requests/{}/objects/{}/upload?token={}", request_id.str(), object_id.str(),
                     token);
}

namespace {

/// The live APPROVED objects of a request: what a release or delivery hands out.
/// What leaves the TRE: the APPROVED objects that are not supporting objects.
std::vector<output_object> approved_objects(connection& c, const uuid& request_id) {
  auto objects = detail::list_objects(c, request_id, false);
  std::erase_if(objects, [](const output_object& o) {
    return o.state != object_state::approved || o.supporting;
  });
  return objects;
}

/// Checks the party (when the direction has the operation at all) and the
/// transition: forbidden for the wrong actor, invalid_transition otherwise.
void require_step(const detail::request_facts& f, const actor& who, operation op,
                  request_status to) {
  const auto d = f.request.direction;
  if (const auto* rule = first_rule(op, d))
    detail::require_party(*rule, detail::facts_of(who, f), d);
  require_transition(f.request.status, op, d, to);
}

/// Who a link download is audited as: `link` when no one signed in;
/// otherwise the signed-in user (forbidden when unknown, deactivated or an
/// auditor) or the agent.
std::string link_downloader(connection& c, const actor* who) {
  if (!who) return std::string(link_actor);
  if (who->is_agent()) return detail::actor_name(*who);
  if (who->auditor)
    throw error(errc::forbidden,
                "download: an auditor reads requests and their metadata; it may not download "
                "packages or objects");
  detail::require_active_user(c, *who);
  return detail::actor_name(*who);
}

/// Moves a release's heartbeat forward every release_heartbeat_interval on a
/// thread of its own, from construction until stop() or destruction. A beat
/// that fails (the database away for a moment) is tried again at the next.
class heartbeat_thread {
 public:
  heartbeat_thread(detail::workflow_state& s, const uuid& request_id, const uuid& release_id)
      : thread_([this, &s, request_id, release_id] {
          std::unique_lock lock(mutex_);
          while (!stopping_) {
            if (wake_.wait_for(lock, s.options.release_heartbeat_interval,
                               [this] { return stopping_; }))
              break;
            lock.unlock();
            try {
              detail::run_transaction(s.db.impl(), mode::write, "release heartbeat",
                                      [&](connection& c) {
                                        detail::beat_release_heartbeat(c, request_id, release_id);
                                      });
            } catch (const std::exception&) {
              // Missed beats only make the release look stale sooner.
            }
            lock.lock();
          }
        }) {}
  ~heartbeat_thread() { stop(); }
  heartbeat_thread(const heartbeat_thread&) = delete;
  heartbeat_thread& operator=(const heartbeat_thread&) = delete;
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the members above exist
};

/// Removes a scratch file on scope exit.
struct scratch_file {
  std::filesystem::path path;
  ~scratch_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

}  // namespace

// ---------------------------------------------------------------- release

release_record release_service::release(const actor& who, const uuid& request_id) {
  const uuid release_id = s_.next_id();
  // 1. APPROVED → RELEASING, and everything the package says, in one
  // transaction: of two concurrent releases exactly one gets past here.
  auto content = detail::run_transaction(s_.db.impl(), mode::write, "release", [&](connection& c) {
    const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
    require_step(f, who, operation::start_release, request_status::releasing);
    auto objects = approved_objects(c, request_id);
    if (objects.empty())
      throw error(errc::invalid_transition, "release: the request has no APPROVED object");
    auto moved = detail::transition_request(c, request_id, request_status::approved,
                                            request_status::releasing, {});
    if (!moved) throw error(errc::conflict, "request changed concurrently; retry");
    detail::crate_content k;
    k.request = *moved;
    auto owner = detail::find_user(c, moved->owner_id);
    if (!owner) throw error(errc::internal, "release: the request's owner is missing");
    k.researcher = std::move(*owner);
    for (auto& o : objects) {
      auto m = detail::find_metadata(c, o.logical_object_id);
      if (!m) throw error(errc::internal, "object metadata missing");
      k.files.push_back({std::move(o), std::move(*m), {}});
    }
    detail::assign_crate_paths(k.files);
    k.reviews = detail::list_reviews(c, request_id, moved->review_round);
    for (const auto& rv : k.reviews)
      if (rv.reviewer_id)
        if (auto u = detail::find_user(c, *rv.reviewer_id)) k.reviewers.push_back(std::move(*u));
    k.required_reviews = s_.options.required_reviews;
    k.agent_review = s_.options.agent_review;
    k.license = s_.options.release_license;
    const auto proj = detail::find_project(c, moved->project_id);
    k.sdc_policy_json = sdc::policy_document(s_.options.sdc_policy.effective(
        moved->project_id.str(), proj ? std::string_view(proj->name) : std::string_view()));
    k.released_at = detail::database_now(c);
    event_batch batch(s_.ids);
    auto payload = detail::status_change(request_status::approved, request_status::releasing,
                                         moved->review_round);
    payload["release_id"] = release_id.str();
    payload["objects"] = static_cast<std::int64_t>(k.files.size());
    // Who builds the package: the sweep returns the request at once when
    // this process is gone (a kill -9), not after release_timeout.
    payload["holder"] = detail::this_process();
    batch.event(detail::actor_name(who), "request.releasing", request_id, moved->project_id,
                payload);
    batch.write(c);
    // ...and its heartbeat, which it moves forward while it works: a holder
    // on another host is judged by it, not by its pid.
    detail::begin_release_heartbeat(c, request_id, release_id, detail::this_process());
    return k;
  });
  heartbeat_thread beating(s_, request_id, release_id);

  // 2. The package: every object re-read and verified on its way into the
  // zip, then the zip into the release area.
  const auto key = release_storage_key(content.request.project_id, request_id, release_id);
  blob_info crate;
  try {
    const auto dir = s_.options.scratch_dir.empty() ? std::filesystem::temp_directory_path()
                                                    : s_.options.scratch_dir;
    std::filesystem::create_directories(dir);
    if (s_.options.audit && s_.options.audit->signs()) {
      // The request's events up to request.releasing, sealed now (the
      // sealer is idempotent and serialised) and proved in the package.
      s_.options.audit->seal();
      content.audit_proof_json = s_.options.audit->prove_request(request_id).json();
    }
    scratch_file zip{dir / fmt::format("trevor-release-{}-{}.zip", release_id.str(), ::getpid())};
    detail::write_crate(zip.path, content, detail::crate_metadata(content), s_.blobs);
    // Written once: the store takes the finished zip as it is.
    crate = detail::adopt_file(s_.blobs, key, zip.path);
  } catch (const std::exception& e) {
    const auto* te = dynamic_cast<const error*>(&e);
    const bool refused = te && te->code() == errc::conflict;
    fail(request_id, detail::actor_name(who), refused ? "verification_failed" : "storage_failed",
         e.what());
    if (refused)
      throw error(errc::conflict,
                  fmt::format("release refused, the request stays APPROVED: {}", e.what()));
    throw error(errc::internal,
                fmt::format("release failed, the request stays APPROVED: {}", e.what()));
  }
  detail::pending_blob guard(s_.blobs, key);

  // 3. RELEASING → RELEASED with the record, its link and the owner's notice.
  try {
    auto record = detail::run_transaction(s_.db.impl(), mode::write, "release", [&](connection& c) {
      auto moved = detail::transition_request(c, request_id, request_status::releasing,
                                              request_status::released, {});
      if (!moved)
        throw error(errc::conflict,
                    "release: the request left RELEASING while its package was built "
                    "(the interrupted-release sweep returned it to APPROVED); release again");
      const auto expires = detail::later(detail::database_now(c), s_.options.release_link_ttl);
      const auto token = s_.links.issue({link_purpose::release_download, release_id, expires});
      release_record x;
      x.id = release_id;
      x.request_id = request_id;
      x.crate_storage_key = key;
      x.crate_checksum_sha256 = crate.sha256;
      x.download_url = s_.url_of(release_download_path(request_id, token));
      x.url_expires_at = expires;
      x.released_by = who.user_id;
      auto stored = detail::insert_release_record(c, x);
      boost::json::array files;
      for (const auto& f : content.files)
        files.push_back({{"object_id", f.object.id.str()},
                         {"path", f.path},
                         {"checksum_sha256", f.object.checksum_sha256},
                         {"size_bytes", f.object.size_bytes}});
      auto payload = detail::status_change(request_status::releasing, request_status::released,
                                           moved->review_round);
      payload["release_id"] = release_id.str();
      payload["crate_storage_key"] = key;
      payload["crate_checksum_sha256"] = crate.sha256;
      payload["crate_size_bytes"] = crate.size;
      payload["url_expires_at"] = expires.str();
      payload["link_id"] = link_signer::link_id(token);
      payload["objects"] = std::move(files);
      event_batch batch(s_.ids);
      batch.event(detail::actor_name(who), "request.released", request_id, moved->project_id,
                  payload);
      batch.notify({moved->owner_id}, "request.released", fmt::format("Released: {}", moved->title),
                   fmt::format("Your request \"{}\" has been released; its package can be "
                               "downloaded until {}.",
                               moved->title, expires.str()),
                   request_id);
      batch.write(c);
      return stored;
    });
    beating.stop();
    guard.keep();
    return record;
  } catch (const std::exception& e) {
    fail(request_id, detail::actor_name(who), "record_failed", e.what());
    throw;
  }
}

void release_service::fail(const uuid& request_id, const std::string& actor_name,
                           std::string_view reason, const std::string& detail) {
  detail::run_transaction(s_.db.impl(), mode::write, "release failed", [&](connection& c) {
    event_batch batch(s_.ids);
    if (detail::return_to_approved(c, batch, request_id, actor_name, reason, detail))
      batch.write(c);
  });
}

release_record release_service::get(const actor& who, const uuid& request_id) const {
  return detail::run_transaction(s_.db.impl(), mode::read, "get release", [&](connection& c) {
    detail::readable_request(c, request_id, who);
    auto x = detail::find_release_record(c, request_id);
    if (!x)
      throw error(errc::not_found,
                  fmt::format("request {} has no release record", request_id.str()));
    return std::move(*x);
  });
}

release_record release_service::renew_link(const actor& who, const uuid& request_id) {
  return detail::run_transaction(
      s_.db.impl(), mode::write, "renew release link", [&](connection& c) {
        const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
        if (!who.acting_admin())
          throw error(errc::forbidden, "release link: only tre_admin may issue release links");
        auto old = detail::find_release_record(c, request_id);
        if (!old)
          throw error(errc::invalid_transition,
                      fmt::format("release link: request {} is {} and has no release",
                                  request_id.str(), to_string(f.request.status)));
        if (f.request.status == request_status::revoked)
          throw error(errc::invalid_transition,
                      fmt::format("release link: request {} is REVOKED; its package is no "
                                  "longer handed out",
                                  request_id.str()));
        const auto expires = detail::later(detail::database_now(c), s_.options.release_link_ttl);
        const auto token = s_.links.issue({link_purpose::release_download, old->id, expires});
        auto x = detail::replace_release_link(
            c, old->id, s_.url_of(release_download_path(request_id, token)), expires);
        if (!x) throw error(errc::internal, "release record vanished");
        event_batch batch(s_.ids);
        batch.event(detail::actor_name(who), "release.link_issued", request_id,
                    f.request.project_id,
                    {{"release_id", x->id.str()},
                     {"link_id", link_signer::link_id(token)},
                     {"url_expires_at", expires.str()},
                     {"previous_url_expires_at", old->url_expires_at.str()}});
        batch.write(c);
        return std::move(*x);
      });
}

blob_download release_service::download(const uuid& request_id, std::string_view token,
                                        const link_client& client) {
  return release_download(nullptr, request_id, token, client);
}

blob_download release_service::download(const actor& who, const uuid& request_id,
                                        std::string_view token, const link_client& client) {
  return release_download(&who, request_id, token, client);
}

blob_download release_service::release_download(const actor* who, const uuid& request_id,
                                                std::string_view token, const link_client& client) {
  return detail::run_transaction(s_.db.impl(), mode::write, "release download", [&](connection& c) {
    auto x = detail::find_release_record(c, request_id);
    if (!x) throw error(errc::forbidden, "link token refused: the request has no release");
    const auto claims =
        s_.links.verify(token, link_purpose::release_download, x->id, detail::database_now(c));
    if (claims.expires_at != x->url_expires_at)
      throw error(errc::forbidden, "link token refused: replaced by a newer link");
    const auto r = detail::find_request(c, request_id);
    if (r->status == request_status::revoked)
      throw error(errc::forbidden, "link token refused: the release was revoked");
    const auto actor_name = link_downloader(c, who);
    auto payload = detail::link_use(client, token);
    payload["release_id"] = x->id.str();
    payload["crate_checksum_sha256"] = x->crate_checksum_sha256;
    event_batch batch(s_.ids);
    batch.event(actor_name, "release.downloaded", request_id, r->project_id, payload);
    batch.write(c);
    blob_download d;
    d.storage_key = x->crate_storage_key;
    d.filename = fmt::format("trevor-release-{}.zip", request_id.str());
    d.content_type = "application/zip";
    d.size_bytes = s_.blobs.size(x->crate_storage_key);
    d.checksum_sha256 = x->crate_checksum_sha256;
    return d;
  });
}

// ----------------------------------------------------------------- revoke

airlock_request release_service::revoke(const actor& who, const uuid& request_id,
                                        std::string_view reason) {
  detail::check_text(reason, "reason", max_reason_length, true);
  return detail::run_transaction(s_.db.impl(), mode::write, "revoke", [&](connection& c) {
    const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
    require_step(f, who, operation::revoke, request_status::revoked);
    const auto x = detail::find_release_record(c, request_id);
    if (!x) throw error(errc::internal, "revoke: the released request has no release record");
    auto moved = detail::transition_request(c, request_id, request_status::released,
                                            request_status::revoked, {});
    if (!moved) throw error(errc::conflict, "request changed concurrently; retry");
    auto payload = detail::status_change(request_status::released, request_status::revoked,
                                         moved->review_round);
    payload["reason"] = reason;
    payload["release_id"] = x->id.str();
    event_batch batch(s_.ids);
    batch.event(detail::actor_name(who), status_event_type(operation::revoke, moved->status),
                request_id, moved->project_id, payload);
    // The owner and the people who approved the release (the human
    // reviewers of the deciding round).
    std::vector<uuid> recipients{moved->owner_id};
    for (const auto& r : detail::list_reviews(c, request_id, moved->review_round))
      if (r.reviewer_id) recipients.push_back(*r.reviewer_id);
    batch.notify(recipients, "request.revoked", fmt::format("Release revoked: {}", moved->title),
                 fmt::format("The release of \"{}\" was revoked; its package can no longer be "
                             "downloaded. Reason: {}",
                             moved->title, reason),
                 request_id);
    batch.write(c);
    return *moved;
  });
}

// --------------------------------------------------------------- delivery

namespace {

std::vector<delivered_object> delivery_links(const link_signer& links, const std::string& base,
                                             const uuid& request_id,
                                             const std::vector<output_object>& objects,
                                             timestamp expires) {
  std::vector<delivered_object> out;
  for (const auto& o : objects) {
    const auto token = links.issue({link_purpose::object_download, o.id, expires});
    out.push_back({o.id, o.filename, base + delivered_object_path(request_id, o.id, token),
                   o.checksum_sha256, o.size_bytes});
  }
  return out;
}

}  // namespace

delivery release_service::deliver(const actor& who, const uuid& request_id) {
  // The bytes handed over are the bytes reviewed: verify before the step.
  const auto to_verify =
      detail::run_transaction(s_.db.impl(), mode::read, "deliver", [&](connection& c) {
        const auto f = detail::visible_request(c, request_id, who);
        require_step(f, who, operation::deliver, request_status::released);
        return approved_objects(c, request_id);
      });
  for (const auto& o : to_verify) {
    if (s_.blobs.exists(o.storage_key) && s_.blobs.size(o.storage_key) == o.size_bytes &&
        s_.blobs.verify(o.storage_key, o.checksum_sha256))
      continue;
    throw error(errc::conflict,
                fmt::format("deliver refused, the request stays APPROVED: object {} ({}): its "
                            "stored bytes no longer match the recorded SHA-256 and size",
                            o.id.str(), o.filename));
  }
  const uuid delivery_id = s_.next_id();
  return detail::run_transaction(s_.db.impl(), mode::write, "deliver", [&](connection& c) {
    const auto f = detail::visible_request(c, request_id, who, /*lock=*/true);
    require_step(f, who, operation::deliver, request_status::released);
    const auto objects = approved_objects(c, request_id);
    if (objects.empty())
      throw error(errc::invalid_transition, "deliver: the request has no APPROVED object");
    if (objects.size() != to_verify.size())
      throw error(errc::conflict, "request changed concurrently; retry");
    auto moved = detail::transition_request(c, request_id, request_status::approved,
                                            request_status::released, {});
    if (!moved) throw error(errc::conflict, "request changed concurrently; retry");
    delivery_record d;
    d.id = delivery_id;
    d.request_id = request_id;
    d.delivered_by = who.user_id;
    d.object_count = static_cast<std::int64_t>(objects.size());
    d.url_expires_at = detail::later(detail::database_now(c), s_.options.delivery_link_ttl);
    delivery out;
    out.record = detail::insert_delivery_record(c, d);
    out.objects = delivery_links(s_.links, s_.options.public_url, request_id, objects,
                                 out.record.url_expires_at);
    boost::json::array files;
    for (const auto& o : objects)
      files.push_back({{"object_id", o.id.str()},
                       {"filename", o.filename},
                       {"checksum_sha256", o.checksum_sha256},
                       {"size_bytes", o.size_bytes}});
    auto payload = detail::status_change(request_status::approved, request_status::released,
                                         moved->review_round);
    payload["delivery_id"] = delivery_id.str();
    payload["url_expires_at"] = out.record.url_expires_at.str();
    payload["objects"] = std::move(files);
    event_batch batch(s_.ids);
    batch.event(detail::actor_name(who), "request.delivered", request_id, moved->project_id,
                payload);
    // The files are for the project's researchers; the owner is the admin
    // who created the request (event_batch drops duplicates).
    auto recipients = f.researchers;
    recipients.push_back(moved->owner_id);
    batch.notify(recipients, "request.delivered", fmt::format("Delivered: {}", moved->title),
                 fmt::format("The files of \"{}\" have been delivered; their links work until {}.",
                             moved->title, out.record.url_expires_at.str()),
                 request_id);
    batch.write(c);
    return out;
  });
}

delivery release_service::get_delivery(const actor& who, const uuid& request_id) const {
  return detail::run_transaction(s_.db.impl(), mode::read, "get delivery", [&](connection& c) {
    detail::readable_request(c, request_id, who);
    auto record = detail::find_delivery_record(c, request_id);
    if (!record)
      throw error(errc::not_found,
                  fmt::format("request {} has no delivery record", request_id.str()));
    delivery out;
    out.record = std::move(*record);
    out.objects = delivery_links(s_.links, s_.options.public_url, request_id,
                                 approved_objects(c, request_id), out.record.url_expires_at);
    return out;
  });
}

blob_download release_service::delivered_download(const uuid& request_id, const uuid& object_id,
                                                  std::string_view token,
                                                  const link_client& client) {
  return delivery_download(nullptr, request_id, object_id, token, client);
}

blob_download release_service::delivered_download(const actor& who, const uuid& request_id,
                                                  const uuid& object_id, std::string_view token,
                                                  const link_client& client) {
  return delivery_download(&who, request_id, object_id, token, client);
}

blob_download release_service::delivery_download(const actor* who, const uuid& request_id,
                                                 const uuid& object_id, std::string_view token,
                                                 const link_client& client) {
  return detail::run_transaction(
      s_.db.impl(), mode::write, "delivery download", [&](connection& c) {
        s_.links.verify(token, link_purpose::object_download, object_id, detail::database_now(c));
        const auto o = detail::find_object(c, object_id);
        if (!o || o->request_id != request_id)
          throw error(errc::forbidden, "link token refused: made for another request");
        if (!detail::find_delivery_record(c, request_id) || o->state != object_state::approved ||
            o->supporting)
          throw error(errc::forbidden, "link token refused: the object is not delivered");
        const auto r = detail::find_request(c, request_id);
        const auto actor_name = link_downloader(c, who);
        auto payload = detail::link_use(client, token);
        payload["object_id"] = o->id.str();
        payload["filename"] = o->filename;
        payload["checksum_sha256"] = o->checksum_sha256;
        payload["size_bytes"] = o->size_bytes;
        event_batch batch(s_.ids);
        batch.event(actor_name, "delivery.downloaded", request_id, r->project_id, payload);
        batch.write(c);
        return blob_download{o->storage_key, o->filename, "application/octet-stream", o->size_bytes,
                             o->checksum_sha256};
      });
}

void release_service::read_blob(const blob_download& d, const byte_writer& sink) const {
  s_.blobs.get(d.storage_key, sink);
}

// ----------------------------------------------------------------- sweeps

}  // namespace trevor
