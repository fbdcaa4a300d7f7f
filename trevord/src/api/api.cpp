#include "api/api.hpp"

#include <exception>

#include <fmt/format.h>

#include "api/json_io.hpp"
#include "daemon/log.hpp"
#include "trevor/error.hpp"

namespace trevord {

api::api(const config& c, services& svc, trevord::metrics& m, const daemon_status& s)
    : cfg(c),
      db(svc.db),
      workflow(svc.workflow),
      directory(svc.directory),
      inbox(svc.inbox),
      dashboard(svc.dashboard),
      blobs(*svc.blobs),
      auth(c, svc.directory),
      metrics(m),
      status(s),
      audit(*svc.audit),
      agent(svc.agent),
      notifier(*svc.notifier) {}

bool upload_counter::try_begin(const std::string& who, std::size_t max) {
  std::lock_guard lock(mutex_);
  auto& n = in_progress_[who];
  if (n >= max) return false;
  ++n;
  return true;
}

void upload_counter::end(const std::string& who) {
  std::lock_guard lock(mutex_);
  const auto it = in_progress_.find(who);
  if (it == in_progress_.end()) return;
  if (--it->second == 0) in_progress_.erase(it);
}

namespace {
/// An auditor reads; every other method is refused before its handler runs
/// (the library refuses each write too: actor::auditor).
void refuse_auditor_writes(const route& r, const principal& who) {
  if (who.actor.auditor && r.method != http::verb::get && r.method != http::verb::head)
    throw http_error(http::status::forbidden,
                     fmt::format("an auditor (realm role {}) is read-only: it may read requests, "
                                 "their objects' metadata, reviews and audit trail, the admin "
                                 "read models and the audit trail's proofs; nothing else",
                                 auditor_role));
}
}  // namespace

outcome api::dispatch(const route& r, call& c, std::string_view authorization,
                      const std::string& request_id) {
  outcome o;
  const std::string route_name(r.pattern);
  try {
    if (r.authenticated) {
      c.who = auth.authenticate(authorization);
      o.actor = c.who.agent() ? c.who.actor.agent->audit_actor() : c.who.actor.user_id.str();
      refuse_auditor_writes(r, c.who);
    } else {
      c.authorization = std::string(authorization);
    }
    // An upload holds a transfer thread while its body arrives: a user may
    // not take them all. An upload through a link has no user: its uploads
    // are counted by the request the link is for (the link's token, checked
    // before any byte is read, binds the slot to it; one that names another
    // request is refused at once and frees its place).
    struct upload_slot {
      upload_counter* counter = nullptr;
      std::string who;
      ~upload_slot() {
        if (counter) counter->end(who);
      }
    } slot;
    if (r.body == body_mode::upload) {
      const auto who = r.authenticated ? o.actor : "link:" + c.id("request_id").str();
      if (!uploads.try_begin(who, cfg.max_uploads_per_user))
        throw http_error(
            http::status::too_many_requests,
            r.authenticated
                ? fmt::format("{} uploads of yours are in progress already "
                              "(TREVOR_MAX_UPLOADS_PER_USER); retry once one has finished",
                              cfg.max_uploads_per_user)
                : fmt::format("{} uploads through links of this request are in progress already "
                              "(TREVOR_MAX_UPLOADS_PER_USER); retry once one has finished",
                              cfg.max_uploads_per_user));
      slot.counter = &uploads;
      slot.who = who;
    }
    o.r = r.handle(*this, c);
    o.status = o.r.status;
    // A link route whose caller signed in (the handler authenticated them).
    if (!r.authenticated && (c.who.agent() || !c.who.actor.user_id.is_nil()))
      o.actor = c.who.agent() ? c.who.actor.agent->audit_actor() : c.who.actor.user_id.str();
    // A change committed (and with it, perhaps, notification rows).
    if (r.method != boost::beast::http::verb::get && changed) changed();
  } catch (const http_error& e) {
    o.status = e.status();
    o.detail = e.what();
  } catch (const trevor::error& e) {
    o.status = status_of(e.code());
    o.detail = e.what();
    if (e.code() == trevor::errc::internal)
      log(level::error, "internal error",
          {{"request_id", request_id}, {"route", route_name}, {"error", e.what()}});
    if (e.code() == trevor::errc::unavailable && !names_storage(o.detail)) {
      // The database driver's text (host, port, server messages) is for the log only.
      log(level::warning, "database unavailable",
          {{"request_id", request_id}, {"route", route_name}, {"error", e.what()}});
      o.detail = fmt::format("{} (the server's log has the details: request id {})",
                             database_unavailable, request_id);
    }
    // Storage keys and paths are for tre_admin (and the log) only.
    if (!c.who.actor.tre_admin && names_storage(o.detail)) {
      if (e.code() != trevor::errc::internal)
        log(level::warning, "storage failure",
            {{"request_id", request_id}, {"route", route_name}, {"error", e.what()}});
      o.detail = storage_failure_detail(request_id);
    }
  } catch (const std::exception& e) {
    o.status = http::status::internal_server_error;
    log(level::error, "unexpected exception",
        {{"request_id", request_id}, {"route", route_name}, {"error", e.what()}});
    o.detail = fmt::format("internal error (request id {})", request_id);
  }
  return o;
}

}  // namespace trevord
