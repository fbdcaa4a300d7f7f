#include "api/json_io.hpp"

#include <cmath>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "http/http_error.hpp"
#include "trevor/text.hpp"

namespace trevord {

namespace {

json::value ts(const trevor::timestamp& t) {
  return json::value(t.str());
}
json::value opt_ts(const std::optional<trevor::timestamp>& t) {
  return t ? ts(*t) : json::value(nullptr);
}
json::value opt_id(const std::optional<trevor::uuid>& id) {
  return id ? json::value(id->str()) : json::value(nullptr);
}

// Figures are rounded to what they mean: hours to 6 places (under 4 ms),
// rates and shares to 4.
constexpr int hour_places = 6;
constexpr int rate_places = 4;

double rounded(double v, int places) {
  const double scale = std::pow(10.0, places);
  return std::round(v * scale) / scale;
}
json::value hours(double v) {
  return rounded(v, hour_places);
}
json::value opt_hours(const std::optional<double>& v) {
  return v ? hours(*v) : json::value(nullptr);
}
json::value opt_rate(const std::optional<double>& v) {
  return v ? json::value(rounded(*v, rate_places)) : json::value(nullptr);
}
json::value percentiles_json(const trevor::percentiles& p) {
  return json::object{{"median", opt_hours(p.median)}, {"p90", opt_hours(p.p90)}};
}
template <class E>
json::value counts_json(const std::vector<std::pair<E, std::int64_t>>& counts) {
  json::object o;
  for (const auto& [k, n] : counts) o[trevor::to_string(k)] = n;
  return o;
}

}  // namespace

std::string plain_decimal(double d) {
  if (!std::isfinite(d)) return "null";
  // The shortest text that reads back as `d`, with any exponent written out.
  std::string text = fmt::format("{}", d);
  const auto e = text.find('e');
  if (e == std::string::npos) return text;
  const int exponent = std::stoi(text.substr(e + 1));
  std::string mantissa = text.substr(0, e);
  const bool negative = mantissa.front() == '-';
  if (negative) mantissa.erase(0, 1);
  const auto dot = mantissa.find('.');
  const long whole = static_cast<long>(dot == std::string::npos ? mantissa.size() : dot);
  std::string digits = mantissa;
  if (dot != std::string::npos) digits.erase(dot, 1);
  const long point = whole + exponent;  // where the decimal point falls in `digits`
  const long n = static_cast<long>(digits.size());
  std::string out = negative ? "-" : "";
  if (point <= 0)
    out += "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
  else if (point >= n)
    out += digits + std::string(static_cast<std::size_t>(point - n), '0');
  else
    out += digits.substr(0, static_cast<std::size_t>(point)) + "." +
           digits.substr(static_cast<std::size_t>(point));
  return out;
}

namespace {

void write_text(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::double_: out += plain_decimal(v.get_double()); return;
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string_view(kv.key()));
        out += ':';
        write_text(kv.value(), out);
      }
      out += '}';
      return;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write_text(item, out);
      }
      out += ']';
      return;
    }
    default: out += json::serialize(v);
  }
}

const char* type_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

}  // namespace

std::string to_text(const json::value& v) {
  std::string out;
  write_text(v, out);
  return out;
}

json::value to_json(const trevor::overview_item& i) {
  return json::object{{"id", i.id.str()},
                      {"project_id", i.project_id.str()},
                      {"project_name", i.project_name},
                      {"title", i.title},
                      {"status", trevor::to_string(i.status)},
                      {"direction", trevor::to_string(i.direction)},
                      {"submitted_by", i.owner_id.str()},
                      {"submitted_by_name", i.owner_name},
                      {"object_count", i.object_count},
                      {"submitted_at", opt_ts(i.submitted_at)},
                      {"created_at", ts(i.created_at)},
                      {"updated_at", ts(i.updated_at)},
                      {"age_hours", hours(i.age_hours)}};
}

json::value to_json(const trevor::pipeline_metrics& m) {
  json::object in_state;
  for (const auto& [s, p] : m.hours_in_state) in_state[trevor::to_string(s)] = percentiles_json(p);
  json::array stuck;
  for (const auto& s : m.stuck_requests)
    stuck.push_back(json::object{{"request_id", s.request_id.str()},
                                 {"title", s.title},
                                 {"status", trevor::to_string(s.status)},
                                 {"since", ts(s.since)},
                                 {"waiting_hours", hours(s.waiting_hours)}});
  return json::object{{"since", ts(m.since)},
                      {"until", ts(m.until)},
                      {"total_requests", m.total_requests},
                      {"by_status", counts_json(m.by_status)},
                      {"by_direction", counts_json(m.by_direction)},
                      {"approval_rate", opt_rate(m.approval_rate)},
                      {"revision_rate", opt_rate(m.revision_rate)},
                      {"rejection_rate", opt_rate(m.rejection_rate)},
                      {"median_hours_to_first_review", opt_hours(m.hours_to_first_review.median)},
                      {"p90_hours_to_first_review", opt_hours(m.hours_to_first_review.p90)},
                      {"median_hours_to_decision", opt_hours(m.hours_to_decision.median)},
                      {"p90_hours_to_decision", opt_hours(m.hours_to_decision.p90)},
                      {"median_revisions_per_request", opt_rate(m.median_revisions_per_request)},
                      {"hours_in_state", std::move(in_state)},
                      {"stuck_requests", std::move(stuck)}};
}

json::value to_json(const trevor::checker_performance& p) {
  return json::object{{"reviewer_id", p.reviewer_id.str()},
                      {"reviewer_name", p.reviewer_name},
                      {"reviews", p.reviews},
                      {"approved", p.approved},
                      {"changes_requested", p.changes_requested},
                      {"rejected", p.rejected},
                      {"median_turnaround_hours", opt_hours(p.median_turnaround_hours)},
                      {"accepted_agent_findings_share", opt_rate(p.accepted_agent_findings_share)}};
}

json::value to_json(const trevor::project_summary& p) {
  return json::object{{"project_id", p.project_id.str()},
                      {"name", p.name},
                      {"display_name", p.display_name},
                      {"by_status", counts_json(p.by_status)},
                      {"objects_submitted", p.objects_submitted},
                      {"objects_approved", p.objects_approved},
                      {"objects_released", p.objects_released},
                      {"releases", p.releases},
                      {"median_hours_to_decision", opt_hours(p.median_hours_to_decision)}};
}

json::value to_json(const trevor::user& u) {
  return json::object{{"id", u.id.str()},
                      {"username", u.username},
                      {"email", u.email},
                      {"given_name", u.given_name},
                      {"family_name", u.family_name},
                      {"affiliation", u.affiliation},
                      {"active", u.active},
                      {"created_at", ts(u.created_at)},
                      {"updated_at", ts(u.updated_at)}};
}

json::value to_json(const trevor::project& p) {
  return json::object{{"id", p.id.str()},
                      {"name", p.name},
                      {"display_name", p.display_name},
                      {"status", trevor::to_string(p.status)},
                      {"created_at", ts(p.created_at)},
                      {"updated_at", ts(p.updated_at)}};
}

json::value to_json(const trevor::membership& m) {
  return json::object{{"id", m.id.str()},
                      {"user_id", m.user_id.str()},
                      {"project_id", m.project_id.str()},
                      {"role", trevor::to_string(m.role)},
                      {"assigned_by", opt_id(m.assigned_by)},
                      {"created_at", ts(m.created_at)}};
}

json::value to_json(const trevor::airlock_request& r) {
  return json::object{{"id", r.id.str()},
                      {"project_id", r.project_id.str()},
                      {"direction", trevor::to_string(r.direction)},
                      {"status", trevor::to_string(r.status)},
                      {"title", r.title},
                      {"description", r.description},
                      {"submitted_by", r.owner_id.str()},
                      {"review_round", r.review_round},
                      {"submitted_at", opt_ts(r.submitted_at)},
                      {"closed_at", opt_ts(r.closed_at)},
                      {"created_at", ts(r.created_at)},
                      {"updated_at", ts(r.updated_at)}};
}

json::value to_json(const trevor::request_detail& d) {
  auto v = to_json(d.request);
  v.as_object()["objects"] = to_json(d.objects);
  return v;
}

json::value to_json(const trevor::release_record& r, bool admin) {
  json::object o{{"id", r.id.str()},
                 {"request_id", r.request_id.str()},
                 {"crate_checksum_sha256", r.crate_checksum_sha256},
                 {"download_url", r.download_url},
                 {"presigned_url", r.download_url},
                 {"url_expires_at", r.url_expires_at.str()},
                 {"expiry_warned_at", r.expiry_warned_at ? json::value(r.expiry_warned_at->str())
                                                         : json::value(nullptr)},
                 {"released_by", r.released_by.str()},
                 {"created_at", r.created_at.str()}};
  if (admin) o["crate_storage_key"] = r.crate_storage_key;
  return o;
}

json::value to_json(const trevor::delivery& d) {
  json::array urls;
  for (const auto& o : d.objects)
    urls.push_back(json::object{{"object_id", o.object_id.str()},
                                {"filename", o.filename},
                                {"download_url", o.download_url},
                                {"checksum_sha256", o.checksum_sha256},
                                {"size_bytes", o.size_bytes}});
  return json::object{{"id", d.record.id.str()},
                      {"request_id", d.record.request_id.str()},
                      {"delivered_by", d.record.delivered_by.str()},
                      {"object_count", d.record.object_count},
                      {"url_expires_at", d.record.url_expires_at.str()},
                      {"object_urls", std::move(urls)},
                      {"created_at", d.record.created_at.str()}};
}

json::value to_json(const trevor::upload_link& l) {
  return json::object{{"object_id", l.object_id.str()},
                      {"upload_url", l.upload_url},
                      {"url_expires_at", l.expires_at.str()}};
}

json::value to_json(const trevor::output_object& o) {
  return json::object{
      {"id", o.id.str()},
      {"request_id", o.request_id.str()},
      {"logical_object_id", o.logical_object_id.str()},
      {"version", o.version},
      {"replaces_id", opt_id(o.replaces_id)},
      {"filename", o.filename},
      {"output_type", trevor::to_string(o.output_type)},
      {"statbarn", o.statbarn},
      {"checksum_sha256",
       o.checksum_sha256.empty() ? json::value(nullptr) : json::value(o.checksum_sha256)},
      {"size_bytes", o.size_bytes},
      {"state", trevor::to_string(o.state)},
      {"uploaded_by", o.uploaded_by.str()},
      {"created_at", ts(o.created_at)},
      {"supporting", o.supporting}};
}

json::value to_json(const trevor::object_metadata& m) {
  return json::object{{"logical_object_id", m.logical_object_id.str()},
                      {"title", m.title},
                      {"description", m.description},
                      {"researcher_justification", m.researcher_justification},
                      {"suppression_notes", m.suppression_notes},
                      {"tags", parse_stored(m.tags_json)},
                      {"checker_feedback", parse_stored(m.checker_feedback_json)},
                      {"lock_version", m.lock_version},
                      {"updated_at", ts(m.updated_at)}};
}

json::value to_json(const trevor::review& r) {
  return json::object{{"id", r.id.str()},
                      {"request_id", r.request_id.str()},
                      {"round", r.round},
                      {"reviewer_type", trevor::to_string(r.reviewer_type)},
                      {"reviewer_id", opt_id(r.reviewer_id)},
                      {"decision", trevor::to_string(r.decision)},
                      {"accepted_agent_findings", r.accepted_agent_findings},
                      {"summary", r.summary},
                      {"findings", parse_stored(r.findings_json)},
                      {"created_at", ts(r.created_at)}};
}

json::value to_json(const trevor::audit_event& e) {
  return json::object{{"id", e.id.str()},
                      {"seq", e.seq},
                      {"timestamp", ts(e.occurred_at)},
                      {"event_type", e.event_type},
                      {"actor_id", e.actor},
                      {"request_id", opt_id(e.request_id)},
                      {"project_id", opt_id(e.project_id)},
                      {"payload", parse_stored(e.payload_json)}};
}

json::value to_json(const trevor::notification& n) {
  return json::object{{"id", n.id.str()},
                      {"user_id", n.user_id.str()},
                      {"event_type", n.event_type},
                      {"title", n.title},
                      {"body", n.body},
                      {"request_id", opt_id(n.request_id)},
                      {"read", n.read},
                      {"created_at", ts(n.created_at)}};
}

json::value to_json(const trevor::notification_delivery& d) {
  return json::object{{"notification_id", d.notification_id.str()},
                      {"channel", trevor::to_string(d.channel)},
                      {"state", trevor::to_string(d.state)},
                      {"attempts", d.attempts},
                      {"next_attempt_at", ts(d.next_attempt_at)},
                      {"last_error", d.last_error},
                      {"created_at", ts(d.created_at)},
                      {"updated_at", ts(d.updated_at)},
                      {"user_id", d.user_id.str()},
                      {"username", d.username},
                      {"event_type", d.event_type},
                      {"title", d.title},
                      {"request_id", opt_id(d.request_id)},
                      {"notification_created_at", ts(d.notification_created_at)}};
}

bool names_storage(std::string_view text) {
  return text.find("blob store:") != std::string_view::npos ||
         text.find("release package:") != std::string_view::npos ||
         text.find("TREVOR_STORAGE_DIR") != std::string_view::npos;
}

std::string storage_failure_detail(std::string_view request_id) {
  return fmt::format(
      "the stored files could not be read or written; the server's log has the "
      "details (request id {})",
      request_id);
}

json::value audit_trail_json(const std::vector<trevor::audit_event>& events, bool admin) {
  auto out = to_json(events);
  if (admin) return out;
  for (auto& e : out.as_array()) {
    auto* payload = e.as_object().at("payload").if_object();
    if (!payload) continue;
    payload->erase("crate_storage_key");
    if (auto* detail = payload->if_contains("detail");
        detail && detail->is_string() && names_storage(detail->get_string()))
      *detail = "a storage failure (its detail is for tre_admin)";
  }
  return out;
}

json::value parse_stored(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return json::value(std::string(text));  // never expected: the library stores valid JSON
  return v;
}

void invalid(std::string_view field, std::string_view what) {
  throw http_error(http::status::unprocessable_entity, fmt::format("{}: {}", field, what));
}

void require_utf8(std::string_view field, std::string_view text) {
  if (!trevor::valid_utf8(text)) invalid(field, "is not valid UTF-8");
}

std::string list_of(const std::string_view* names, std::size_t count) {
  std::string allowed;
  for (std::size_t i = 0; i < count; ++i) allowed += fmt::format("{}{}", i ? ", " : "", names[i]);
  return allowed;
}

void invalid_choice(std::string_view field, std::string_view text, const std::string_view* names,
                    std::size_t count) {
  invalid(field, fmt::format("'{}' is not one of {}", text, list_of(names, count)));
}

json_body::json_body(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec)
    throw http_error(http::status::bad_request,
                     fmt::format("the body is not valid JSON: {}", ec.message()));
  if (!v.is_object())
    throw http_error(http::status::unprocessable_entity,
                     fmt::format("the body must be a JSON object, not {}", type_name(v)));
  object_ = std::move(v.as_object());
}

std::optional<std::string> json_body::optional_string(std::string_view field) const {
  const auto* v = object_.if_contains(field);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) invalid(field, fmt::format("must be a string, not {}", type_name(*v)));
  return std::string(v->get_string());
}

std::string json_body::string(std::string_view field) const {
  auto v = optional_string(field);
  if (!v) invalid(field, "required");
  return std::move(*v);
}

trevor::uuid parse_id(std::string_view field, std::string_view text) {
  auto id = trevor::uuid::parse(text);
  if (!id) invalid(field, fmt::format("'{}' is not a UUID", text));
  return *id;
}

void rethrow_for_item(const http_error& e, std::string_view field, std::size_t index) {
  throw http_error(e.status(), fmt::format("{}[{}].{}", field, index, e.what()));
}

trevor::uuid json_body::uuid(std::string_view field) const {
  return parse_id(field, string(field));
}

std::optional<bool> json_body::optional_bool(std::string_view field) const {
  const auto* v = object_.if_contains(field);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_bool()) invalid(field, fmt::format("must be true or false, not {}", type_name(*v)));
  return v->get_bool();
}

std::optional<std::int64_t> json_body::optional_integer(std::string_view field) const {
  const auto* v = object_.if_contains(field);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  invalid(field, fmt::format("must be a whole number, not {}", type_name(*v)));
}

void json_body::only(std::initializer_list<std::string_view> known) const {
  for (const auto& member : object_) {
    bool ok = false;
    for (auto k : known) ok = ok || member.key() == k;
    if (!ok) invalid(member.key(), "unknown field");
  }
}

}  // namespace trevord
