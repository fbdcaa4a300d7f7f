// Requests, objects, reviews and a request's audit trail.
#include <charconv>

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include "api/handlers/handlers.hpp"
#include "api/json_io.hpp"
#include "http/multipart.hpp"
#include "trevor/text.hpp"

namespace trevord::handlers {

namespace {

/// What an upload says about its object, from form fields or query parameters.
struct upload_fields {
  trevor::new_object object;
  bool has_output_type = false;  // required: no silent default

  /// The fields every upload needs, checked before the first byte is stored.
  void require_complete(std::string_view where) const {
    if (!has_output_type)
      invalid("output_type",
              fmt::format("required ({}): one of {}", where, choices_of<trevor::output_type>()));
  }
};

void apply_field(upload_fields& fields, std::string_view name, std::string value) {
  if (!trevor::valid_utf8(name)) invalid("form field", "its name is not valid UTF-8");
  require_utf8(name, value);
  auto& o = fields.object;
  if (name == "output_type") {
    o.output_type = parse_choice<trevor::output_type>("output_type", value);
    fields.has_output_type = true;
  } else if (name == "statbarn") {
    o.statbarn = std::move(value);
  } else if (name == "filename") {
    o.filename = std::move(value);
  } else if (name == "title") {
    o.metadata.title = std::move(value);
  } else if (name == "description") {
    o.metadata.description = std::move(value);
  } else if (name == "researcher_justification") {
    o.metadata.researcher_justification = std::move(value);
  } else if (name == "suppression_notes") {
    o.metadata.suppression_notes = std::move(value);
  } else if (name == "tags") {
    o.metadata.tags_json = std::move(value);
  } else if (name == "supporting") {
    // For the checkers only (never released); a replacement keeps the flag
    // of the object it replaces, whatever this says (the library's rule).
    if (value == "true" || value == "1")
      o.supporting = true;
    else if (value == "false" || value == "0")
      o.supporting = false;
    else
      invalid("supporting", fmt::format("'{}' is not true or false", value));
  } else {
    invalid(name, "unknown field");
  }
}

/// Counts the bytes handed to the library and refuses, with 413, more than
/// the configured maximum.
trevor::byte_reader limited(std::function<std::size_t(char*, std::size_t)> source,
                            std::int64_t max_bytes) {
  auto seen = std::make_shared<std::int64_t>(0);
  return [source = std::move(source), max_bytes, seen](char* buf, std::size_t cap) {
    const auto n = source(buf, cap);
    *seen += static_cast<std::int64_t>(n);
    if (*seen > max_bytes)
      throw http_error(http::status::payload_too_large,
                       fmt::format("the file is larger than the upload limit of {} bytes "
                                   "(TREVOR_MAX_UPLOAD_MB)",
                                   max_bytes));
    return n;
  };
}

/// Reads an upload in either body form and hands its fields and byte stream
/// to `store` (which calls the library). Form fields must precede the file.
template <class Store>
reply upload(api& a, call& c, Store&& store) {
  upload_fields fields;
  auto& input = fields.object;
  if (auto boundary = multipart_reader::boundary_of(c.content_type)) {
    if (boundary->empty())
      throw http_error(http::status::bad_request,
                       "multipart/form-data needs a boundary parameter of 1 to 70 characters");
    multipart_reader form(*boundary, c.read_body);
    while (auto part = form.next()) {
      if (part->name != "file") {
        // Limits are in characters (checked by the library); a character
        // takes at most 4 bytes of UTF-8.
        apply_field(fields, part->name, form.read_all(part->name, 4 * trevor::max_metadata_text));
        continue;
      }
      if (input.filename.empty()) {
        input.filename = part->filename.value_or("");
        require_utf8("filename", input.filename);
      }
      if (input.filename.empty()) invalid("file", "the part has no filename");
      fields.require_complete("a form field before the file part");
      // The file part ends the form: a field after it would come too late to
      // apply, so it fails the upload before anything is recorded.
      auto bytes = [&form](char* buf, std::size_t cap) -> std::size_t {
        if (const auto n = form.read(buf, cap)) return n;
        if (auto after = form.next())
          invalid(after->name, "form fields must come before the file part");
        return 0;
      };
      return ok(to_json(store(input, limited(bytes, a.cfg.max_upload_bytes))),
                http::status::created);
    }
    invalid("file", "required (a multipart part named \"file\")");
  }
  // application/octet-stream: the fields are query parameters.
  for (const auto& [k, v] : c.query) apply_field(fields, k, v);
  if (input.filename.empty()) invalid("filename", "required (a query parameter)");
  fields.require_complete("a query parameter");
  return ok(to_json(store(input, limited(c.read_body, a.cfg.max_upload_bytes))),
            http::status::created);
}

}  // namespace

reply request_create(api& a, call& c) {
  json_body body(c.body);
  body.only({"project_id", "direction", "title", "description"});
  trevor::new_request input;
  input.project_id = body.uuid("project_id");
  input.direction = body.enumeration<trevor::direction>("direction");
  input.title = body.string("title");
  input.description = body.optional_string("description").value_or("");
  return ok(to_json(a.workflow.requests.create(person(c), input)), http::status::created);
}

// A bare JSON array, newest first, as old clients expect; a page at a time
// (trevord/README.md, "Paging"): `limit` (default 500, at most 1000) and
// `cursor`; when there is more, the answer carries X-Next-Cursor and a Link
// rel="next" to the next page.
reply requests_list(api& a, call& c) {
  constexpr std::size_t default_limit = 500;
  trevor::request_list_filter f;
  f.project_id = c.query_id("project_id");
  if (auto s = c.query_value("status")) {
    f.status = parse_choice<trevor::request_status>("status", *s);
  }
  f.limit = default_limit;
  if (auto l = c.query_value("limit")) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
    if (ec != std::errc() || end != l->data() + l->size() || n < 1 || n > trevor::max_request_page)
      invalid("limit",
              fmt::format("must be a whole number from 1 to {}", trevor::max_request_page));
    f.limit = n;
  }
  if (auto cur = c.query_value("cursor")) f.cursor = std::string(*cur);
  auto page = a.workflow.requests.list_page(reader(c), f);
  auto r = ok(to_json(page.items));
  if (!page.next_cursor.empty()) {
    std::string next = fmt::format("/requests?limit={}&cursor={}", f.limit, page.next_cursor);
    if (f.project_id) next += "&project_id=" + f.project_id->str();
    if (f.status) next += fmt::format("&status={}", trevor::to_string(*f.status));
    r.headers.emplace_back("X-Next-Cursor", page.next_cursor);
    r.headers.emplace_back("Link", fmt::format("<{}>; rel=\"next\"", next));
  }
  return r;
}

reply request_get(api& a, call& c) {
  return ok(to_json(a.workflow.requests.get_detail(reader(c), c.id("request_id"))));
}

reply request_submit(api& a, call& c) {
  auto r = ok(to_json(a.workflow.requests.submit(person(c), c.id("request_id"))));
  if (a.submitted) a.submitted();
  return r;
}

reply request_resubmit(api& a, call& c) {
  auto r = ok(to_json(a.workflow.requests.resubmit(person(c), c.id("request_id"))));
  if (a.submitted) a.submitted();
  return r;
}

reply request_withdraw(api& a, call& c) {
  // The body is optional: {"reason": "..."} is recorded in request.withdrawn.
  json_body body(c.body);
  body.only({"reason"});
  const auto reason = body.optional_string("reason").value_or("");
  return ok(to_json(a.workflow.requests.withdraw(person(c), c.id("request_id"), reason)));
}

reply request_audit(api& a, call& c) {
  const auto& who = person(c);
  return ok(
      audit_trail_json(a.workflow.requests.audit_trail(who, c.id("request_id")), who.tre_admin));
}

reply object_upload(api& a, call& c) {
  const auto& who = person(c);
  const auto request_id = c.id("request_id");
  return upload(a, c, [&](const trevor::new_object& input, const trevor::byte_reader& bytes) {
    return a.workflow.objects.add(who, request_id, input, bytes);
  });
}

reply object_replace(api& a, call& c) {
  const auto& who = person(c);
  const auto request_id = c.id("request_id");
  const auto object_id = c.id("object_id");
  return upload(a, c, [&](const trevor::new_object& input, const trevor::byte_reader& bytes) {
    return a.workflow.objects.replace(who, request_id, object_id, input, bytes);
  });
}

reply objects_list(api& a, call& c) {
  const bool all = c.query_bool("include_superseded").value_or(false);
  return ok(to_json(a.workflow.objects.list(reader(c), c.id("request_id"), all)));
}

reply object_get(api& a, call& c) {
  return ok(to_json(a.workflow.objects.get(reader(c), c.id("request_id"), c.id("object_id"))));
}

reply object_versions(api& a, call& c) {
  return ok(to_json(a.workflow.objects.versions(reader(c), c.id("request_id"), c.id("object_id"))));
}

reply object_content(api& a, call& c) {
  // Authorised and audited by the library; the server streams the blob off
  // the worker.
  const auto d = a.workflow.objects.open_download(reader(c), c.id("request_id"), c.id("object_id"));
  c.sink->stream(static_cast<std::uint64_t>(d.size_bytes), d.content_type,
                 fmt::format("attachment; filename=\"{}\"", trevor::sanitize_filename(d.filename)),
                 a.blobs.open(d.storage_key));
  reply r;
  r.streamed = true;
  return r;
}

reply object_metadata_get(api& a, call& c) {
  return ok(to_json(a.workflow.objects.metadata(reader(c), c.id("request_id"), c.id("object_id"))));
}

reply object_metadata_patch(api& a, call& c) {
  json_body body(c.body);
  if (body.find("checker_feedback"))
    invalid("checker_feedback", "is written by reviews only and cannot be patched");
  body.only({"title", "description", "researcher_justification", "suppression_notes", "tags",
             "lock_version"});
  // Optional: without it the patch applies to the current metadata.
  const auto lock_version = body.optional_integer("lock_version");
  trevor::metadata_patch patch;
  patch.title = body.optional_string("title");
  patch.description = body.optional_string("description");
  patch.researcher_justification = body.optional_string("researcher_justification");
  patch.suppression_notes = body.optional_string("suppression_notes");
  if (const auto* tags = body.find("tags")) {
    if (!tags->is_object()) invalid("tags", "must be a JSON object");
    patch.tags_json = json::serialize(*tags);
  }
  return ok(to_json(a.workflow.objects.edit_metadata(person(c), c.id("request_id"),
                                                     c.id("object_id"), patch, lock_version)));
}

reply reviews_list(api& a, call& c) {
  return ok(to_json(a.workflow.reviews.list(person(c), c.id("request_id"))));
}

reply review_get(api& a, call& c) {
  return ok(to_json(a.workflow.reviews.get(person(c), c.id("request_id"), c.id("review_id"))));
}

reply review_create(api& a, call& c) {
  json_body body(c.body);
  body.only({"decision", "summary", "accepted_agent_findings", "object_decisions"});
  trevor::human_review_input input;
  input.decision = body.enumeration<trevor::review_decision>("decision");
  input.summary = body.optional_string("summary").value_or("");
  input.accepted_agent_findings = body.optional_bool("accepted_agent_findings").value_or(false);
  body.each_object("object_decisions", [&](const json_body& entry) {
    entry.only({"object_id", "decision", "feedback"});
    input.object_decisions.push_back({entry.uuid("object_id"),
                                      entry.enumeration<trevor::review_decision>("decision"),
                                      entry.optional_string("feedback").value_or("")});
  });
  return ok(to_json(a.workflow.reviews.record(person(c), c.id("request_id"), input)),
            http::status::created);
}

reply agent_review(api& a, call& c) {
  const auto& credential = agent(c);
  json_body body(c.body);
  body.only({"decision", "summary", "findings"});
  trevor::agent_review_input input;
  input.decision = body.enumeration<trevor::review_decision>("decision");
  input.summary = body.optional_string("summary").value_or("");
  if (const auto* findings = body.find("findings"); findings && !findings->is_null()) {
    // An array of rule results, or the built-in agent's shape ({"policy", "objects"}).
    if (!findings->is_array() && !findings->is_object())
      invalid("findings", "must be an array or an object");
    input.findings_json = json::serialize(*findings);
  }
  return ok(to_json(a.workflow.reviews.record_agent_review(credential, c.id("request_id"), input)),
            http::status::created);
}

}  // namespace trevord::handlers
