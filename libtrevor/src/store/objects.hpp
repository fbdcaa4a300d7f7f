#pragma once
// output_objects and output_object_metadata (internal repository).
// Runs in the caller's transaction.

#include <optional>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "store/query.hpp"
#include "trevor/model.hpp"

namespace trevor::detail {

/// output_objects: the columns every statement reads and their reader.
struct object_row {
  static constexpr sql_text columns{
      "id, request_id, logical_object_id, version, replaces_id, filename, output_type, statbarn, "
      "storage_key, checksum_sha256, size_bytes, state, supporting, uploaded_by, {t:created_at}"};

  static output_object read(row_reader& r) {
    output_object o;
    o.id = r.uuid();
    o.request_id = r.uuid();
    o.logical_object_id = r.uuid();
    o.version = r.i64();
    o.replaces_id = r.opt_uuid();
    o.filename = r.text();
    o.output_type = r.enum_<output_type>();
    o.statbarn = r.text();
    o.storage_key = r.text();
    o.checksum_sha256 = r.text();
    o.size_bytes = r.i64();
    o.state = r.enum_<object_state>();
    o.supporting = r.boolean();
    o.uploaded_by = r.uuid();
    o.created_at = r.ts();
    return o;
  }
};

/// Inserts one object version (PENDING). For version n+1 the caller must
/// first supersede version n (the partial unique index allows one live
/// version per logical object).
output_object insert_object(connection& c, const output_object& o);
std::optional<output_object> find_object(connection& c, const uuid& id);
/// Objects of a request, oldest first; superseded versions only if asked.
std::vector<output_object> list_objects(connection& c, const uuid& request_id,
                                        bool include_superseded);
/// Every version of one logical object, oldest first.
std::vector<output_object> object_lineage(connection& c, const uuid& logical_object_id);
/// Conditional state change (WHERE state = from); nullopt when the object
/// is not (or no longer) in `from`.
std::optional<output_object> set_object_state(connection& c, const uuid& id, object_state from,
                                              object_state to);
/// Fills an ingress slot's checksum and size, once: nullopt when the object
/// is unknown or already filled.
std::optional<output_object> confirm_object_upload(connection& c, const uuid& id,
                                                   const std::string& checksum_sha256,
                                                   std::int64_t size_bytes);
/// How many live (not SUPERSEDED) objects of the request are in `state`.
long long count_live_objects(connection& c, const uuid& request_id,
                             std::optional<object_state> state);

object_metadata insert_metadata(connection& c, const object_metadata& m);
std::optional<object_metadata> find_metadata(connection& c, const uuid& logical_object_id);
/// Writes every editable field of `m` if the row is still at
/// `m.lock_version` (optimistic concurrency) and bumps lock_version; nullopt
/// when someone else changed it first.
std::optional<object_metadata> update_metadata(connection& c, const object_metadata& m);

/// A blob a committed row refers to: an object version's file (object_id
/// set; an ingress slot not yet filled has an empty checksum) or a release's
/// package.
struct blob_reference {
  std::string key;
  std::optional<uuid> object_id;
  std::string checksum_sha256;
};
/// Every blob key the database refers to.
std::vector<blob_reference> blob_references(connection& c);

class write_chain;
/// set_object_state() as one write of a transition's chain (conflict unless
/// the object is still in `from`).
void add_object_state(write_chain& w, const uuid& id, object_state from, object_state to);

}  // namespace trevor::detail
