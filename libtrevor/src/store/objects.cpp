#include "store/objects.hpp"

#include "store/query.hpp"

namespace trevor::detail {
namespace {

#define TREVOR_OBJECT_COLUMNS                                                                  \
  "id, request_id, logical_object_id, version, replaces_id, filename, output_type, statbarn, " \
  "storage_key, "                                                                              \
  "checksum_sha256, size_bytes, state, uploaded_by, {t:created_at}"

output_object read_object(const soci::row& r) {
  output_object o;
  o.id = get_uuid(r, 0);
  o.request_id = get_uuid(r, 1);
  o.logical_object_id = get_uuid(r, 2);
  o.version = get_i64(r, 3);
  o.replaces_id = get_opt_uuid(r, 4);
  o.filename = get_str(r, 5);
  o.output_type = parse_enum_or_throw<output_type>(get_str(r, 6));
  o.statbarn = get_str(r, 7);
  o.storage_key = get_str(r, 8);
  o.checksum_sha256 = get_str(r, 9);
  o.size_bytes = get_i64(r, 10);
  o.state = parse_enum_or_throw<object_state>(get_str(r, 11));
  o.uploaded_by = get_uuid(r, 12);
  o.created_at = get_ts(r, 13);
  return o;
}

#define TREVOR_METADATA_COLUMNS                                                   \
  "logical_object_id, request_id, title, description, researcher_justification, " \
  "suppression_notes, tags, "                                                     \
  "checker_feedback, lock_version, {t:created_at}, {t:updated_at}"

object_metadata read_metadata(const soci::row& r) {
  object_metadata m;
  m.logical_object_id = get_uuid(r, 0);
  m.request_id = get_uuid(r, 1);
  m.title = get_str(r, 2);
  m.description = get_str(r, 3);
  m.researcher_justification = get_str(r, 4);
  m.suppression_notes = get_str(r, 5);
  m.tags_json = get_str(r, 6);
  m.checker_feedback_json = get_str(r, 7);
  m.lock_version = get_i64(r, 8);
  m.created_at = get_ts(r, 9);
  m.updated_at = get_ts(r, 10);
  return m;
}

}  // namespace

output_object insert_object(connection& c, const output_object& o) {
  const std::string id = o.id.str(), request = o.request_id.str(),
                    logical = o.logical_object_id.str(), by = o.uploaded_by.str();
  nullable_text replaces(o.replaces_id);
  long long version = o.version, size = o.size_bytes;
  const std::string type(to_string(o.output_type));
  return *query_one(c, read_object,
                    "INSERT INTO output_objects (id, request_id, logical_object_id, version, "
                    "replaces_id, filename, "
                    "output_type, statbarn, storage_key, checksum_sha256, size_bytes, uploaded_by) "
                    "VALUES (:id, :request, :logical, :version, :replaces, :filename, :type, "
                    ":statbarn, :key, :checksum, "
                    ":size, :by) RETURNING " TREVOR_OBJECT_COLUMNS,
                    id, request, logical, version, nullable(replaces), o.filename, type, o.statbarn,
                    o.storage_key, o.checksum_sha256, size, by);
}

std::optional<output_object> find_object(connection& c, const uuid& id) {
  const std::string key = id.str();
  return query_one_prepared(
      c, read_object, "SELECT " TREVOR_OBJECT_COLUMNS " FROM output_objects WHERE id = :id", key);
}

std::vector<output_object> list_objects(connection& c, const uuid& request_id,
                                        bool include_superseded) {
  const std::string key = request_id.str();
  int all = include_superseded ? 1 : 0;
  return query_all_prepared<output_object>(
      c,
      "SELECT " TREVOR_OBJECT_COLUMNS
      " FROM output_objects "
      "WHERE request_id = :r AND (:all = 1 OR state <> 'SUPERSEDED') "
      "ORDER BY created_at, logical_object_id, version",
      read_object, key, all);
}

std::vector<output_object> object_lineage(connection& c, const uuid& logical_object_id) {
  const std::string key = logical_object_id.str();
  return query_all_prepared<output_object>(c,
                                           "SELECT " TREVOR_OBJECT_COLUMNS
                                           " FROM output_objects "
                                           "WHERE logical_object_id = :l ORDER BY version",
                                           read_object, key);
}

std::optional<output_object> set_object_state(connection& c, const uuid& id, object_state from,
                                              object_state to) {
  const std::string key = id.str(), from_s(to_string(from)), to_s(to_string(to));
  return query_one_prepared(
      c, read_object,
      "UPDATE output_objects SET state = :to WHERE id = :id AND state = :from "
      "RETURNING " TREVOR_OBJECT_COLUMNS,
      to_s, key, from_s);
}

std::optional<output_object> confirm_object_upload(connection& c, const uuid& id,
                                                   const std::string& checksum_sha256,
                                                   std::int64_t size_bytes) {
  const std::string key = id.str();
  long long size = size_bytes;
  return query_one_prepared(
      c, read_object,
      "UPDATE output_objects SET checksum_sha256 = :checksum, size_bytes = :size "
      "WHERE id = :id AND checksum_sha256 = '' AND size_bytes = 0 "
      "RETURNING " TREVOR_OBJECT_COLUMNS,
      checksum_sha256, size, key);
}

long long count_live_objects(connection& c, const uuid& request_id,
                             std::optional<object_state> state) {
  const std::string key = request_id.str();
  nullable_text s(state ? std::optional<std::string>(std::string(to_string(*state)))
                        : std::nullopt);
  return query_count(
      c,
      "SELECT count(*) FROM output_objects WHERE request_id = :r AND state <> 'SUPERSEDED' "
      "AND (CAST(:state AS TEXT) IS NULL OR state = :state2)",
      key, nullable(s), nullable(s));
}

object_metadata insert_metadata(connection& c, const object_metadata& m) {
  const std::string logical = m.logical_object_id.str(), request = m.request_id.str();
  return *query_one(
      c, read_metadata,
      "INSERT INTO output_object_metadata (logical_object_id, request_id, title, description, "
      "researcher_justification, suppression_notes, tags, checker_feedback) "
      "VALUES (:logical, :request, :title, :description, :justification, :notes, :tags, :feedback) "
      "RETURNING " TREVOR_METADATA_COLUMNS,
      logical, request, m.title, m.description, m.researcher_justification, m.suppression_notes,
      m.tags_json, m.checker_feedback_json);
}

std::optional<object_metadata> find_metadata(connection& c, const uuid& logical_object_id) {
  const std::string key = logical_object_id.str();
  return query_one_prepared(c, read_metadata,
                            "SELECT " TREVOR_METADATA_COLUMNS
                            " FROM output_object_metadata WHERE logical_object_id = :l",
                            key);
}

std::optional<object_metadata> update_metadata(connection& c, const object_metadata& m) {
  const std::string key = m.logical_object_id.str();
  long long expected = m.lock_version;
  return query_one_prepared(
      c, read_metadata,
      "UPDATE output_object_metadata SET updated_at = {now}, title = :title, description = "
      ":description, "
      "researcher_justification = :justification, suppression_notes = :notes, tags = :tags, "
      "checker_feedback = :feedback, lock_version = lock_version + 1 "
      "WHERE logical_object_id = :l AND lock_version = :expected "
      "RETURNING " TREVOR_METADATA_COLUMNS,
      m.title, m.description, m.researcher_justification, m.suppression_notes, m.tags_json,
      m.checker_feedback_json, key, expected);
}

}  // namespace trevor::detail
