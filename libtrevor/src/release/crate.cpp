#include "release/crate.hpp"

#include <zip.h>

#include <exception>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "domain/sha256.hpp"
#include "trevor/error.hpp"
#include "trevor/policy.hpp"

namespace trevor::detail {

namespace json = boost::json;

namespace {

constexpr std::string_view crate_spec = "https://w3id.org/ro/crate/1.1";
/// trevor's own terms (libtrevor/README.md, "The package", lists them).
constexpr std::string_view trevor_terms = "https://w3id.org/trevor/terms#";

json::object id_ref(std::string_view id) {
  return {{"@id", id}};
}

std::string person_id(const uuid& id) {
  return "#user-" + id.str();
}

std::string display_name(const user& u) {
  std::string name = u.given_name;
  if (!u.family_name.empty()) name += (name.empty() ? "" : " ") + u.family_name;
  return name.empty() ? u.username : name;
}

json::object person(const user& u) {
  json::object p{{"@id", person_id(u.id)},
                 {"@type", "Person"},
                 {"name", display_name(u)},
                 {"identifier", u.username}};
  if (!u.affiliation.empty()) p["affiliation"] = u.affiliation;
  return p;
}

json::value parse_or_string(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return json::string(text);
  return v;
}

/// The package's licence: what the root's `license` points at, and the
/// contextual entity describing it. A URL (http:// or https://, no blanks) is
/// the licence's own @id; any other text is the description of a local
/// CreativeWork; nothing configured means "not licensed for reuse".
json::object license_entity(const std::string& configured) {
  const bool url = (configured.starts_with("https://") || configured.starts_with("http://")) &&
                   configured.find_first_of(" \t\r\n") == std::string::npos;
  if (url) return {{"@id", configured}, {"@type", "CreativeWork"}, {"name", configured}};
  if (!configured.empty())
    return {{"@id", "#license"},
            {"@type", "CreativeWork"},
            {"name", "Licence of this release"},
            {"description", configured}};
  return {{"@id", "#license"},
          {"@type", "CreativeWork"},
          {"name", "Not licensed for reuse"},
          {"description",
           "These outputs left a Trusted Research Environment after review; they are not "
           "licensed for reuse. Use is governed by the TRE's terms and the data access "
           "agreement of the project."}};
}

/// The deciding round's human review that wrote a checker_feedback entry
/// (an entry carries its review's reviewer and time); null for feedback of
/// an earlier round.
const review* deciding_review(const crate_content& in, const json::object& entry) {
  const auto* who = entry.if_contains("reviewer_id");
  const auto* at = entry.if_contains("created_at");
  if (!who || !who->is_string() || !at || !at->is_string()) return nullptr;
  for (const auto& rv : in.reviews)
    if (rv.reviewer_type == reviewer_type::human && rv.reviewer_id &&
        rv.reviewer_id->str() == who->get_string() && rv.created_at.str() == at->get_string())
      return &rv;
  return nullptr;
}

/// The decision a review gave `object_id`: its per-object decision, else
/// the review's own.
review_decision decision_on(const review& rv, const uuid& object_id) {
  for (const auto& d : rv.object_decisions)
    if (d.object_id == object_id) return d.decision;
  return rv.decision;
}

}  // namespace

std::string_view media_type_of(std::string_view filename) {
  static constexpr std::pair<std::string_view, std::string_view> types[] = {
      {"csv", "text/csv"},
      {"tsv", "text/tab-separated-values"},
      {"tab", "text/tab-separated-values"},
      {"txt", "text/plain"},
      {"log", "text/plain"},
      {"md", "text/markdown"},
      {"html", "text/html"},
      {"htm", "text/html"},
      {"xml", "application/xml"},
      {"json", "application/json"},
      {"yaml", "application/yaml"},
      {"yml", "application/yaml"},
      {"pdf", "application/pdf"},
      {"ps", "application/postscript"},
      {"eps", "application/postscript"},
      {"rtf", "application/rtf"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"tif", "image/tiff"},
      {"tiff", "image/tiff"},
      {"svg", "image/svg+xml"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"xls", "application/vnd.ms-excel"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"doc", "application/msword"},
      {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
      {"odt", "application/vnd.oasis.opendocument.text"},
      {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"tar", "application/x-tar"},
      {"parquet", "application/vnd.apache.parquet"}};
  const auto dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == filename.size())
    return "application/octet-stream";
  std::string ext(filename.substr(dot + 1));
  for (auto& ch : ext)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  for (const auto& [e, type] : types)
    if (e == ext) return type;
  return "application/octet-stream";
}

void assign_crate_paths(std::vector<crate_file>& files) {
  std::set<std::string> taken;
  for (auto& f : files) {
    f.path = "data/" + f.object.filename;
    if (!taken.insert(f.path).second) {
      f.path = fmt::format("data/{}/{}", f.object.id.str(), f.object.filename);
      taken.insert(f.path);
    }
  }
}

std::string crate_id_of(std::string_view path) {
  std::string out;
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (keep)
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string crate_metadata(const crate_content& in) {
  const auto& r = in.request;
  json::array graph;
  graph.push_back(json::object{{"@id", "ro-crate-metadata.json"},
                               {"@type", "CreativeWork"},
                               {"conformsTo", id_ref(crate_spec)},
                               {"about", id_ref("./")}});

  json::array parts, mentions;
  for (const auto& f : in.files) parts.push_back(id_ref(crate_id_of(f.path)));
  for (const auto& rv : in.reviews) mentions.push_back(id_ref("#review-" + rv.id.str()));
  auto license = license_entity(in.license);
  const std::string license_id(license.at("@id").as_string());
  json::object root{{"@id", "./"},
                    {"@type", "Dataset"},
                    {"identifier", r.id.str()},
                    {"name", r.title},
                    {"description", r.description.empty() ? r.title : r.description},
                    {"datePublished", in.released_at.str()},
                    {"author", id_ref(person_id(in.researcher.id))},
                    {"hasPart", std::move(parts)},
                    {"mentions", std::move(mentions)},
                    {"direction", to_string(r.direction)},
                    {"projectId", r.project_id.str()},
                    {"reviewRound", r.review_round},
                    {"reviewPolicy", id_ref("#review-policy")},
                    {"license", id_ref(license_id)}};
  if (!in.audit_proof_json.empty()) root["auditProof"] = id_ref("audit-proof.json");
  if (!in.sdc_policy_json.empty()) root["sdcPolicy"] = id_ref("sdc-policy.json");
  graph.push_back(std::move(root));
  if (!in.sdc_policy_json.empty())
    graph.push_back(json::object{
        {"@id", "sdc-policy.json"},
        {"@type", "File"},
        {"name", "Statistical disclosure control policy"},
        {"encodingFormat", "application/json"},
        {"contentSize", std::to_string(in.sdc_policy_json.size())},
        {"description",
         "The TRE's statistical disclosure control rules for this project (thresholds, "
         "dominance, blocked formats) under which the outputs were checked; `id` is the SHA-256 "
         "of the policy's canonical JSON."}});
  if (!in.audit_proof_json.empty())
    graph.push_back(json::object{
        {"@id", "audit-proof.json"},
        {"@type", "File"},
        {"name", "Audit proof"},
        {"encodingFormat", "application/json"},
        {"contentSize", std::to_string(in.audit_proof_json.size())},
        {"description",
         "The signed checkpoint of the TRE's audit log and, for each audit event of this "
         "request up to its release, the event's canonical bytes, leaf index and RFC 9162 "
         "inclusion proof: with the log's public key, a recipient can check that the request's "
         "whole history, its reviews and approval included, is in the log."}});

  json::array comments;  // the deciding round's feedback, after the files
  for (const auto& f : in.files) {
    const auto& o = f.object;
    const auto& m = f.metadata;
    json::object file{{"@id", crate_id_of(f.path)},
                      {"@type", "File"},
                      {"name", o.filename},
                      {"identifier", o.id.str()},
                      {"contentSize", std::to_string(o.size_bytes)},
                      {"sha256", o.checksum_sha256},
                      {"version", std::to_string(o.version)},
                      {"encodingFormat", media_type_of(o.filename)},
                      {"outputType", to_string(o.output_type)},
                      {"statbarn", o.statbarn},
                      {"researcherJustification", m.researcher_justification},
                      {"suppressionNotes", m.suppression_notes},
                      {"author", id_ref(person_id(in.researcher.id))}};
    if (!m.title.empty()) file["alternateName"] = m.title;
    if (!m.description.empty()) file["description"] = m.description;
    // Checker feedback on this version from the round that approved it.
    json::array refs;
    const auto feedback = parse_or_string(m.checker_feedback_json);
    if (feedback.is_array())
      for (const auto& item : feedback.as_array()) {
        const auto* entry = item.if_object();
        if (!entry) continue;
        const auto* version = entry->if_contains("version");
        const auto* text = entry->if_contains("feedback");
        boost::system::error_code ec;
        if (!version || version->to_number<std::int64_t>(ec) != o.version || ec || !text ||
            !text->is_string())
          continue;
        const review* rv = deciding_review(in, *entry);
        if (!rv) continue;
        const std::string id = fmt::format("#feedback-{}-{}", rv->id.str(), o.id.str());
        refs.push_back(id_ref(id));
        comments.push_back(json::object{{"@id", id},
                                        {"@type", "Comment"},
                                        {"text", text->get_string()},
                                        {"author", id_ref(person_id(*rv->reviewer_id))},
                                        {"dateCreated", rv->created_at.str()},
                                        {"about", id_ref(crate_id_of(f.path))},
                                        {"decision", to_string(decision_on(*rv, o.id))},
                                        {"reviewRound", rv->round}});
      }
    if (!refs.empty()) file["comment"] = std::move(refs);
    graph.push_back(std::move(file));
  }
  for (auto& c : comments) graph.push_back(std::move(c));
  graph.push_back(std::move(license));

  graph.push_back(person(in.researcher));
  for (const auto& u : in.reviewers)
    if (u.id != in.researcher.id) graph.push_back(person(u));

  bool agent_reviewed = false;
  json::array reviewed_by;
  for (const auto& rv : in.reviews) {
    const bool agent = rv.reviewer_type == reviewer_type::agent;
    agent_reviewed = agent_reviewed || agent;
    const std::string who = agent ? "#trevor-agent" : person_id(*rv.reviewer_id);
    reviewed_by.push_back(id_ref(who));
    json::object action{{"@id", "#review-" + rv.id.str()},
                        {"@type", "AssessAction"},
                        {"name", fmt::format("Review of round {} ({})", rv.round,
                                             agent ? "automated agent" : "output checker")},
                        {"agent", id_ref(who)},
                        {"object", id_ref("./")},
                        {"instrument", id_ref("#review-policy")},
                        {"endTime", rv.created_at.str()},
                        {"actionStatus", id_ref("http://schema.org/CompletedActionStatus")},
                        {"decision", to_string(rv.decision)},
                        {"reviewerType", to_string(rv.reviewer_type)},
                        {"description", rv.summary}};
    if (agent)
      action["findings"] = parse_or_string(rv.findings_json);
    else
      action["acceptedAgentFindings"] = rv.accepted_agent_findings;
    graph.push_back(std::move(action));
  }
  if (agent_reviewed)
    graph.push_back(json::object{{"@id", "#trevor-agent"},
                                 {"@type", "SoftwareApplication"},
                                 {"name", "trevor automated disclosure checks"}});
  graph.push_back(json::object{
      {"@id", "#review-policy"},
      {"@type", "CreativeWork"},
      {"name", "Two-person output review"},
      {"description",
       fmt::format("A round closes when {} distinct reviewers (the automated agent counting as "
                   "one) have reviewed it; any rejection rejects, any request for changes sends "
                   "the request back, otherwise it is approved.",
                   in.required_reviews)},
      {"requiredReviewers", in.required_reviews},
      {"agentReview", in.agent_review ? "external" : "off"},
      {"reviewedBy", std::move(reviewed_by)}});

  json::object local{{"trevor", trevor_terms},
                     {"sha256", "http://schema.org/sha256"},
                     {"AssessAction", "http://schema.org/AssessAction"}};
  for (const char* term : {"direction", "projectId", "reviewRound", "reviewPolicy", "outputType",
                           "statbarn", "researcherJustification", "suppressionNotes", "decision",
                           "reviewerType", "acceptedAgentFindings", "findings", "requiredReviewers",
                           "agentReview", "reviewedBy", "auditProof", "sdcPolicy"})
    local[term] = fmt::format("trevor:{}", term);
  json::object doc{{"@context", json::array{crate_spec.data() + std::string("/context"), local}},
                   {"@graph", std::move(graph)}};
  return json::serialize(doc);
}

// ------------------------------------------------------------------ the zip

namespace {

/// One object as a libzip source: bytes pulled from the blob store, hashed
/// and counted; the end of the stream is refused unless both match.
struct object_source {
  const blob_store* blobs = nullptr;
  const output_object* object = nullptr;
  std::time_t mtime = 0;
  byte_reader reader;
  sha256* hash = nullptr;
  std::unique_ptr<sha256> hash_storage;
  std::int64_t seen = 0;
  zip_error_t zerr{};
  std::exception_ptr failure;  // what a refusal was, rethrown after zip_close

  [[noreturn]] void refuse(const std::string& why) const {
    throw error(errc::conflict,
                fmt::format("object {} ({}): {}", object->id.str(), object->filename, why));
  }

  zip_int64_t read(void* data, zip_uint64_t len) {
    auto* out = static_cast<char*>(data);
    const auto n = reader(out, static_cast<std::size_t>(len));
    if (n == 0) {
      if (seen != object->size_bytes)
        refuse(fmt::format("size is {} bytes, the recorded size is {}", seen, object->size_bytes));
      const auto digest = hash->hex_digest();
      if (digest != object->checksum_sha256)
        refuse(fmt::format("SHA-256 is {}, the recorded checksum is {}", digest,
                           object->checksum_sha256));
      return 0;
    }
    seen += static_cast<std::int64_t>(n);
    if (seen > object->size_bytes)
      refuse(fmt::format("more than the recorded {} bytes", object->size_bytes));
    hash->update(std::string_view(out, n));
    return static_cast<zip_int64_t>(n);
  }

  zip_int64_t handle(void* data, zip_uint64_t len, zip_source_cmd_t cmd) noexcept {
    try {
      switch (cmd) {
        case ZIP_SOURCE_OPEN:
          reader = blobs->open(object->storage_key);
          hash_storage = std::make_unique<sha256>();
          hash = hash_storage.get();
          seen = 0;
          return 0;
        case ZIP_SOURCE_READ: return read(data, len);
        case ZIP_SOURCE_CLOSE: reader = nullptr; return 0;
        case ZIP_SOURCE_STAT: {
          auto* st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &zerr);
          if (!st) return -1;
          zip_stat_init(st);
          st->valid = ZIP_STAT_SIZE | ZIP_STAT_MTIME;
          st->size = static_cast<zip_uint64_t>(object->size_bytes);
          st->mtime = mtime;
          return sizeof(zip_stat_t);
        }
        case ZIP_SOURCE_ERROR: return zip_error_to_data(&zerr, data, len);
        case ZIP_SOURCE_FREE: return 0;
        case ZIP_SOURCE_SUPPORTS:
          return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                                ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                                -1);
        default: zip_error_set(&zerr, ZIP_ER_OPNOTSUPP, 0); return -1;
      }
    } catch (const trevor::error& e) {
      // A refusal (conflict) as it is; a storage failure names the object.
      if (!failure)
        failure = e.code() == errc::conflict
                      ? std::current_exception()
                      : std::make_exception_ptr(trevor::error(
                            errc::unavailable, fmt::format("object {} ({}): {}", object->id.str(),
                                                           object->filename, e.what())));
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
    zip_error_set(&zerr, ZIP_ER_READ, 0);
    return -1;
  }

  static zip_int64_t callback(void* self, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    return static_cast<object_source*>(self)->handle(data, len, cmd);
  }
};

[[noreturn]] void zip_failed(zip_t* za, std::string_view what) {
  throw error(errc::unavailable,
              fmt::format("release package: {}: {}", what, zip_error_strerror(zip_get_error(za))));
}

}  // namespace

void write_crate(const std::filesystem::path& zip_path, const crate_content& content,
                 const std::string& metadata, const blob_store& blobs) {
  int code = 0;
  zip_t* za = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_EXCL, &code);
  if (!za) {
    zip_error_t e;
    zip_error_init_with_code(&e, code);
    std::string msg = zip_error_strerror(&e);
    zip_error_fini(&e);
    throw error(errc::unavailable,
                fmt::format("release package: cannot create {}: {}", zip_path.string(), msg));
  }
  // Until zip_close succeeds the archive is only in memory (libzip writes a
  // temporary file beside zip_path and renames it at the end).
  struct discard_guard {
    zip_t* za;
    ~discard_guard() {
      if (za) zip_discard(za);
    }
  } guard{za};

  const auto mtime = std::chrono::system_clock::to_time_t(content.released_at.to_sys());
  auto add = [&](const std::string& name, zip_source_t* src) {
    if (!src) zip_failed(za, "cannot make a source for " + name);
    const auto index = zip_file_add(za, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(src);
      zip_failed(za, "cannot add " + name);
    }
    if (zip_set_file_compression(za, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(za, static_cast<zip_uint64_t>(index), mtime, 0) != 0)
      zip_failed(za, "cannot set the attributes of " + name);
  };

  add("ro-crate-metadata.json", zip_source_buffer(za, metadata.data(), metadata.size(), 0));
  if (!content.sdc_policy_json.empty())
    add("sdc-policy.json",
        zip_source_buffer(za, content.sdc_policy_json.data(), content.sdc_policy_json.size(), 0));
  if (!content.audit_proof_json.empty())
    add("audit-proof.json",
        zip_source_buffer(za, content.audit_proof_json.data(), content.audit_proof_json.size(), 0));
  std::vector<std::unique_ptr<object_source>> sources;
  for (const auto& f : content.files) {
    auto s = std::make_unique<object_source>();
    s->blobs = &blobs;
    s->object = &f.object;
    s->mtime = mtime;
    zip_error_init(&s->zerr);
    add(f.path, zip_source_function(za, &object_source::callback, s.get()));
    sources.push_back(std::move(s));
  }

  const int closed = zip_close(za);
  std::exception_ptr failure;
  for (const auto& s : sources)
    if (s->failure && !failure) failure = s->failure;
  if (closed != 0) {
    std::string why = zip_error_strerror(zip_get_error(za));
    // zip_discard (the guard) frees the archive and removes libzip's temporary file.
    for (const auto& s : sources) zip_error_fini(&s->zerr);
    if (failure) std::rethrow_exception(failure);
    throw error(errc::unavailable,
                fmt::format("release package: cannot write {}: {}", zip_path.string(), why));
  }
  guard.za = nullptr;
  for (const auto& s : sources) zip_error_fini(&s->zerr);
  if (failure) {  // a refusal libzip did not report (it should have)
    std::filesystem::remove(zip_path);
    std::rethrow_exception(failure);
  }
}

}  // namespace trevor::detail
