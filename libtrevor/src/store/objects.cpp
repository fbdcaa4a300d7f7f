#include "store/objects.hpp"

#include "store/multi_insert.hpp"
#include "store/query.hpp"

namespace trevor::detail {
namespace {

/// output_object_metadata: the columns every statement reads and their reader.
struct metadata_row {
  static constexpr sql_text columns{
      "logical_object_id, request_id, title, description, researcher_justification, "
      "suppression_notes, tags, checker_feedback, lock_version, {t:created_at}, {t:updated_at}"};

  static object_metadata read(row_reader& r) {
    object_metadata m;
    m.logical_object_id = r.uuid();
    m.request_id = r.uuid();
    m.title = r.text();
    m.description = r.text();
    m.researcher_justification = r.text();
    m.suppression_notes = r.text();
    m.tags_json = r.text();
    m.checker_feedback_json = r.text();
    m.lock_version = r.i64();
    m.created_at = r.ts();
    m.updated_at = r.ts();
    return m;
  }
};

}  // namespace

output_object insert_object(connection& c, const output_object& o) {
  static constexpr auto sql =
      "INSERT INTO output_objects (id, request_id, logical_object_id, version, replaces_id, "
      "filename, output_type, statbarn, storage_key, checksum_sha256, size_bytes, supporting, "
      "uploaded_by) "
      "VALUES (:id, :request, :logical, :version, :replaces, :filename, :type, :statbarn, :key, "
      ":checksum, :size, :supporting, :by) RETURNING " +
      object_row::columns;
  const std::string id = o.id.str(), request = o.request_id.str(),
                    logical = o.logical_object_id.str(), by = o.uploaded_by.str();
  nullable_text replaces(o.replaces_id);
  long long version = o.version, size = o.size_bytes;
  int supporting = o.supporting ? 1 : 0;
  const std::string type(to_string(o.output_type));
  return *query_one(c, one_time(sql), object_row::read, id, request, logical, version,
                    nullable(replaces), o.filename, type, o.statbarn, o.storage_key,
                    o.checksum_sha256, size, supporting, by);
}

std::optional<output_object> find_object(connection& c, const uuid& id) {
  static constexpr auto sql =
      "SELECT " + object_row::columns + " FROM output_objects WHERE id = :id";
  const std::string key = id.str();
  return query_one(c, prepared(sql), object_row::read, key);
}

std::vector<output_object> list_objects(connection& c, const uuid& request_id,
                                        bool include_superseded) {
  static constexpr auto sql = "SELECT " + object_row::columns +
                              " FROM output_objects "
                              "WHERE request_id = :r AND (:all = 1 OR state <> 'SUPERSEDED') "
                              "ORDER BY created_at, logical_object_id, version";
  const std::string key = request_id.str();
  int all = include_superseded ? 1 : 0;
  return query_all(c, prepared(sql), object_row::read, key, all);
}

std::vector<output_object> object_lineage(connection& c, const uuid& logical_object_id) {
  static constexpr auto sql = "SELECT " + object_row::columns +
                              " FROM output_objects WHERE logical_object_id = :l ORDER BY version";
  const std::string key = logical_object_id.str();
  return query_all(c, prepared(sql), object_row::read, key);
}

std::optional<output_object> set_object_state(connection& c, const uuid& id, object_state from,
                                              object_state to) {
  static constexpr auto sql =
      "UPDATE output_objects SET state = :to WHERE id = :id AND state = :from RETURNING " +
      object_row::columns;
  const std::string key = id.str(), from_s(to_string(from)), to_s(to_string(to));
  return query_one(c, prepared(sql), object_row::read, to_s, key, from_s);
}

std::optional<output_object> confirm_object_upload(connection& c, const uuid& id,
                                                   const std::string& checksum_sha256,
                                                   std::int64_t size_bytes) {
  static constexpr auto sql =
      "UPDATE output_objects SET checksum_sha256 = :checksum, size_bytes = :size "
      "WHERE id = :id AND checksum_sha256 = '' AND size_bytes = 0 RETURNING " +
      object_row::columns;
  const std::string key = id.str();
  long long size = size_bytes;
  return query_one(c, prepared(sql), object_row::read, checksum_sha256, size, key);
}

long long count_live_objects(connection& c, const uuid& request_id,
                             std::optional<object_state> state) {
  const std::string key = request_id.str();
  nullable_text s(state ? std::optional<std::string>(std::string(to_string(*state)))
                        : std::nullopt);
  return query_count(
      c,
      one_time("SELECT count(*) FROM output_objects WHERE request_id = :r "
               "AND state <> 'SUPERSEDED' AND (CAST(:state AS TEXT) IS NULL OR state = :state2)"),
      key, nullable(s), nullable(s));
}

object_metadata insert_metadata(connection& c, const object_metadata& m) {
  static constexpr auto sql =
      "INSERT INTO output_object_metadata (logical_object_id, request_id, title, description, "
      "researcher_justification, suppression_notes, tags, checker_feedback) "
      "VALUES (:logical, :request, :title, :description, :justification, :notes, :tags, "
      ":feedback) RETURNING " +
      metadata_row::columns;
  const std::string logical = m.logical_object_id.str(), request = m.request_id.str();
  return *query_one(c, one_time(sql), metadata_row::read, logical, request, m.title, m.description,
                    m.researcher_justification, m.suppression_notes, m.tags_json,
                    m.checker_feedback_json);
}

std::optional<object_metadata> find_metadata(connection& c, const uuid& logical_object_id) {
  static constexpr auto sql = "SELECT " + metadata_row::columns +
                              " FROM output_object_metadata WHERE logical_object_id = :l";
  const std::string key = logical_object_id.str();
  return query_one(c, prepared(sql), metadata_row::read, key);
}

std::optional<object_metadata> update_metadata(connection& c, const object_metadata& m) {
  static constexpr auto sql =
      "UPDATE output_object_metadata SET updated_at = {now}, title = :title, "
      "description = :description, researcher_justification = :justification, "
      "suppression_notes = :notes, tags = :tags, checker_feedback = :feedback, "
      "lock_version = lock_version + 1 "
      "WHERE logical_object_id = :l AND lock_version = :expected RETURNING " +
      metadata_row::columns;
  const std::string key = m.logical_object_id.str();
  long long expected = m.lock_version;
  return query_one(c, prepared(sql), metadata_row::read, m.title, m.description,
                   m.researcher_justification, m.suppression_notes, m.tags_json,
                   m.checker_feedback_json, key, expected);
}

std::vector<blob_reference> blob_references(connection& c) {
  static constexpr sql_text sql{
      "SELECT storage_key, CAST(id AS TEXT), checksum_sha256 FROM output_objects "
      "UNION ALL SELECT crate_storage_key, CAST(NULL AS TEXT), crate_checksum_sha256 "
      "FROM release_records"};
  return query_all(c, one_time(sql), [](row_reader& r) {
    blob_reference b;
    b.key = r.text();
    b.object_id = r.opt_uuid();
    b.checksum_sha256 = r.text();
    return b;
  });
}

void add_object_state(write_chain& w, const uuid& id, object_state from, object_state to) {
  static constexpr char sql[] =
      "UPDATE output_objects SET state = $ WHERE id = CAST($ AS {uuid}) AND state = $";
  std::vector<nullable_text> values;
  values.emplace_back(std::optional<std::string>(std::string(to_string(to))));
  values.emplace_back(std::optional<std::string>(id.str()));
  values.emplace_back(std::optional<std::string>(std::string(to_string(from))));
  w.update(sql, std::move(values), 1, "object changed concurrently; retry");
}

}  // namespace trevor::detail
