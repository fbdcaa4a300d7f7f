// Ingress slots, release, delivery, and the routes whose only credential is
// a signed link token (no Authorization header).
#include <fmt/format.h>

#include "api/handlers/handlers.hpp"
#include "api/json_io.hpp"

namespace trevord::handlers {

namespace {

/// The link token of a link route: 403 without one (it is the credential).
std::string token_of(const call& c) {
  auto t = c.query_value("token");
  if (!t || t->empty())
    throw http_error(http::status::forbidden, "token: required (the link's token parameter)");
  return *t;
}

trevor::link_client client_of(const call& c) {
  return {c.client_address, c.user_agent};
}

/// A link route's caller when an Authorization header came with the link:
/// the signed-in person (or the agent), audited as themselves; 401 when the
/// token is not valid. Null when none came (an anonymous link holder).
const trevor::actor* signed_in(api& a, call& c) {
  if (c.authorization.empty()) return nullptr;
  c.who = a.auth.authenticate(c.authorization);
  return &c.who.actor;
}

/// Streams an authorised download as an attachment (its audit event is
/// committed): the server writes the blob's bytes off the worker.
reply stream(api& a, call& c, const trevor::blob_download& d) {
  c.sink->stream(static_cast<std::uint64_t>(d.size_bytes), d.content_type,
                 fmt::format("attachment; filename=\"{}\"", trevor::sanitize_filename(d.filename)),
                 a.blobs.open(d.storage_key));
  reply r;
  r.streamed = true;
  return r;
}

}  // namespace

reply slot_create(api& a, call& c) {
  json_body body(c.body);
  body.only({"filename", "output_type", "statbarn", "title", "description",
             "researcher_justification", "suppression_notes"});
  trevor::new_object in;
  in.filename = body.string("filename");
  in.output_type = body.optional_string("output_type")
                       ? body.enumeration<trevor::output_type>("output_type")
                       : trevor::output_type::other;
  in.statbarn = body.optional_string("statbarn").value_or("");
  in.metadata.title = body.optional_string("title");
  in.metadata.description = body.optional_string("description");
  in.metadata.researcher_justification = body.optional_string("researcher_justification");
  in.metadata.suppression_notes = body.optional_string("suppression_notes");
  return ok(to_json(a.workflow.objects.add_slot(person(c), c.id("request_id"), in)),
            http::status::created);
}

reply upload_link_create(api& a, call& c) {
  return ok(to_json(a.workflow.objects.issue_upload_link(person(c), c.id("request_id"),
                                                         c.id("object_id"))),
            http::status::created);
}

reply upload_through_link(api& a, call& c) {
  const auto request_id = c.id("request_id");
  const auto object_id = c.id("object_id");
  const auto token = token_of(c);
  if (c.content_type.rfind("application/octet-stream", 0) != 0)
    throw http_error(http::status::unsupported_media_type,
                     "Content-Type: an upload link takes the file's bytes as the raw body "
                     "(application/octet-stream)");
  auto bytes = [&c, max = a.cfg.max_upload_bytes, seen = std::int64_t{0}](
                   char* buf, std::size_t cap) mutable -> std::size_t {
    const auto n = c.read_body(buf, cap);
    seen += static_cast<std::int64_t>(n);
    if (seen > max)
      throw http_error(http::status::payload_too_large,
                       fmt::format("the file is larger than the upload limit of {} bytes "
                                   "(TREVOR_MAX_UPLOAD_MB)",
                                   max));
    return n;
  };
  return ok(to_json(
      a.workflow.objects.upload_through_link(request_id, object_id, token, client_of(c), bytes)));
}

reply release_create(api& a, call& c) {
  const auto& who = person(c);
  return ok(to_json(a.workflow.releases.release(who, c.id("request_id")), who.tre_admin),
            http::status::accepted);
}

reply release_get(api& a, call& c) {
  const auto& who = person(c);
  return ok(to_json(a.workflow.releases.get(who, c.id("request_id")), who.tre_admin));
}

reply release_link_renew(api& a, call& c) {
  const auto& who = person(c);
  return ok(to_json(a.workflow.releases.renew_link(who, c.id("request_id")), who.tre_admin));
}

reply release_download(api& a, call& c) {
  const auto request_id = c.id("request_id");
  const auto token = token_of(c);
  const auto* who = signed_in(a, c);
  const auto d = who ? a.workflow.releases.download(*who, request_id, token, client_of(c))
                     : a.workflow.releases.download(request_id, token, client_of(c));
  return stream(a, c, d);
}

reply release_revoke(api& a, call& c) {
  json_body body(c.body);
  body.only({"reason"});
  const auto reason = body.string("reason");
  return ok(to_json(a.workflow.releases.revoke(person(c), c.id("request_id"), reason)));
}

reply deliver(api& a, call& c) {
  return ok(to_json(a.workflow.releases.deliver(person(c), c.id("request_id"))),
            http::status::accepted);
}

reply delivery_get(api& a, call& c) {
  return ok(to_json(a.workflow.releases.get_delivery(person(c), c.id("request_id"))));
}

reply delivered_object_download(api& a, call& c) {
  const auto request_id = c.id("request_id");
  const auto object_id = c.id("object_id");
  const auto token = token_of(c);
  const auto* who = signed_in(a, c);
  const auto d =
      who ? a.workflow.releases.delivered_download(*who, request_id, object_id, token, client_of(c))
          : a.workflow.releases.delivered_download(request_id, object_id, token, client_of(c));
  return stream(a, c, d);
}

}  // namespace trevord::handlers
