#include "store/records.hpp"

#include "store/query.hpp"

namespace trevor::detail {
namespace {

#define TREVOR_RELEASE_COLUMNS                                                                   \
  "id, request_id, crate_storage_key, crate_checksum_sha256, download_url, {t:url_expires_at}, " \
  "{t:expiry_warned_at}, released_by, {t:created_at}, {t:updated_at}"

/// The token of a stored release link: the link ends with `?token=<token>`
/// (release_download_path), and tokens are URL-safe as they are.
std::string link_token_of(const std::string& url) {
  constexpr std::string_view marker = "?token=";
  const auto at = url.rfind(marker);
  return at == std::string::npos ? std::string() : url.substr(at + marker.size());
}

release_record read_release(const soci::row& r) {
  release_record x;
  x.id = get_uuid(r, 0);
  x.request_id = get_uuid(r, 1);
  x.crate_storage_key = get_str(r, 2);
  x.crate_checksum_sha256 = get_str(r, 3);
  x.download_url = get_str(r, 4);
  x.link_token = link_token_of(x.download_url);
  x.url_expires_at = get_ts(r, 5);
  x.expiry_warned_at = get_opt_ts(r, 6);
  x.released_by = get_uuid(r, 7);
  x.created_at = get_ts(r, 8);
  x.updated_at = get_ts(r, 9);
  return x;
}

#define TREVOR_DELIVERY_COLUMNS \
  "id, request_id, delivered_by, object_count, {t:url_expires_at}, {t:created_at}"

delivery_record read_delivery(const soci::row& r) {
  delivery_record d;
  d.id = get_uuid(r, 0);
  d.request_id = get_uuid(r, 1);
  d.delivered_by = get_uuid(r, 2);
  d.object_count = get_i64(r, 3);
  d.url_expires_at = get_ts(r, 4);
  d.created_at = get_ts(r, 5);
  return d;
}

}  // namespace

release_record insert_release_record(connection& c, const release_record& x) {
  const std::string id = x.id.str(), request = x.request_id.str(), by = x.released_by.str();
  const std::string expires = x.url_expires_at.str();
  return *query_one(c, read_release,
                    "INSERT INTO release_records (id, request_id, crate_storage_key, "
                    "crate_checksum_sha256, download_url, url_expires_at, released_by) "
                    "VALUES (:id, :request, :key, :checksum, :url, :expires, :by) "
                    "RETURNING " TREVOR_RELEASE_COLUMNS,
                    id, request, x.crate_storage_key, x.crate_checksum_sha256, x.download_url,
                    expires, by);
}

std::optional<release_record> find_release_record(connection& c, const uuid& request_id) {
  const std::string key = request_id.str();
  return query_one(c, read_release,
                   "SELECT " TREVOR_RELEASE_COLUMNS " FROM release_records WHERE request_id = :r",
                   key);
}

std::optional<release_record> mark_release_expiry_warned(connection& c, const uuid& id) {
  const std::string key = id.str();
  return query_one(c, read_release,
                   "UPDATE release_records SET updated_at = {now}, expiry_warned_at = {now} "
                   "WHERE id = :id AND expiry_warned_at IS NULL RETURNING " TREVOR_RELEASE_COLUMNS,
                   key);
}

std::optional<release_record> replace_release_link(connection& c, const uuid& id,
                                                   const std::string& download_url,
                                                   timestamp url_expires_at) {
  const std::string key = id.str(), expires = url_expires_at.str();
  return query_one(c, read_release,
                   "UPDATE release_records SET updated_at = {now}, download_url = :url, "
                   "url_expires_at = :expires, expiry_warned_at = NULL WHERE id = :id "
                   "RETURNING " TREVOR_RELEASE_COLUMNS,
                   download_url, expires, key);
}

std::vector<expiring_release> releases_expiring(connection& c, timestamp now, timestamp until) {
  long long from_us = now.micros(), until_us = until.micros();
  return query_all<expiring_release>(
      c,
      "SELECT x.id, x.request_id, x.crate_storage_key, x.crate_checksum_sha256, x.download_url, "
      "{t:x.url_expires_at}, {t:x.expiry_warned_at}, x.released_by, {t:x.created_at}, "
      "{t:x.updated_at}, r.project_id, r.owner_id, r.title "
      "FROM release_records x JOIN airlock_requests r ON r.id = x.request_id "
      "WHERE x.expiry_warned_at IS NULL AND {us:x.url_expires_at} > :from_us "
      "AND {us:x.url_expires_at} <= :until_us ORDER BY x.url_expires_at, x.id",
      [](const soci::row& r) {
        expiring_release e;
        e.record = read_release(r);
        e.project_id = get_uuid(r, 10);
        e.owner_id = get_uuid(r, 11);
        e.title = get_str(r, 12);
        return e;
      },
      from_us, until_us);
}

delivery_record insert_delivery_record(connection& c, const delivery_record& d) {
  const std::string id = d.id.str(), request = d.request_id.str(), by = d.delivered_by.str();
  const std::string expires = d.url_expires_at.str();
  long long count = d.object_count;
  return *query_one(c, read_delivery,
                    "INSERT INTO delivery_records (id, request_id, delivered_by, object_count, "
                    "url_expires_at) VALUES (:id, :request, :by, :count, :expires) "
                    "RETURNING " TREVOR_DELIVERY_COLUMNS,
                    id, request, by, count, expires);
}

std::optional<delivery_record> find_delivery_record(connection& c, const uuid& request_id) {
  const std::string key = request_id.str();
  return query_one(c, read_delivery,
                   "SELECT " TREVOR_DELIVERY_COLUMNS " FROM delivery_records WHERE request_id = :r",
                   key);
}

}  // namespace trevor::detail
