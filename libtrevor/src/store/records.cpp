#include "store/records.hpp"

#include "store/query.hpp"

namespace trevor::detail {
namespace {

/// The token of a stored release link: the link ends with `?token=<token>`
/// (release_download_path), and tokens are URL-safe as they are.
std::string link_token_of(const std::string& url) {
  constexpr std::string_view marker = "?token=";
  const auto at = url.rfind(marker);
  return at == std::string::npos ? std::string() : url.substr(at + marker.size());
}

/// release_records: the columns every statement reads and their reader.
struct release_row {
  static constexpr sql_text columns{
      "id, request_id, crate_storage_key, crate_checksum_sha256, download_url, "
      "{t:url_expires_at}, {t:expiry_warned_at}, released_by, {t:created_at}, {t:updated_at}"};

  static release_record read(row_reader& r) {
    release_record x;
    x.id = r.uuid();
    x.request_id = r.uuid();
    x.crate_storage_key = r.text();
    x.crate_checksum_sha256 = r.text();
    x.download_url = r.text();
    x.link_token = link_token_of(x.download_url);
    x.url_expires_at = r.ts();
    x.expiry_warned_at = r.opt_ts();
    x.released_by = r.uuid();
    x.created_at = r.ts();
    x.updated_at = r.ts();
    return x;
  }
};

/// delivery_records: the columns every statement reads and their reader.
struct delivery_row {
  static constexpr sql_text columns{
      "id, request_id, delivered_by, object_count, {t:url_expires_at}, {t:created_at}"};

  static delivery_record read(row_reader& r) {
    delivery_record d;
    d.id = r.uuid();
    d.request_id = r.uuid();
    d.delivered_by = r.uuid();
    d.object_count = r.i64();
    d.url_expires_at = r.ts();
    d.created_at = r.ts();
    return d;
  }
};

}  // namespace

release_record insert_release_record(connection& c, const release_record& x) {
  static constexpr auto sql =
      "INSERT INTO release_records (id, request_id, crate_storage_key, crate_checksum_sha256, "
      "download_url, url_expires_at, released_by) "
      "VALUES (:id, :request, :key, :checksum, :url, :expires, :by) RETURNING " +
      release_row::columns;
  const std::string id = x.id.str(), request = x.request_id.str(), by = x.released_by.str();
  const std::string expires = x.url_expires_at.str();
  return *query_one(c, one_time(sql), release_row::read, id, request, x.crate_storage_key,
                    x.crate_checksum_sha256, x.download_url, expires, by);
}

std::optional<release_record> find_release_record(connection& c, const uuid& request_id) {
  static constexpr auto sql =
      "SELECT " + release_row::columns + " FROM release_records WHERE request_id = :r";
  const std::string key = request_id.str();
  return query_one(c, one_time(sql), release_row::read, key);
}

std::optional<release_record> mark_release_expiry_warned(connection& c, const uuid& id) {
  static constexpr auto sql =
      "UPDATE release_records SET updated_at = {now}, expiry_warned_at = {now} "
      "WHERE id = :id AND expiry_warned_at IS NULL RETURNING " +
      release_row::columns;
  const std::string key = id.str();
  return query_one(c, one_time(sql), release_row::read, key);
}

std::optional<release_record> replace_release_link(connection& c, const uuid& id,
                                                   const std::string& download_url,
                                                   timestamp url_expires_at) {
  static constexpr auto sql =
      "UPDATE release_records SET updated_at = {now}, download_url = :url, "
      "url_expires_at = :expires, expiry_warned_at = NULL WHERE id = :id RETURNING " +
      release_row::columns;
  const std::string key = id.str(), expires = url_expires_at.str();
  return query_one(c, one_time(sql), release_row::read, download_url, expires, key);
}

std::vector<expiring_release> releases_expiring(connection& c, timestamp now, timestamp until) {
  // The release's own columns from a derived table of the same name, so the
  // entity's column list reads them unqualified.
  static constexpr auto sql =
      "SELECT " + release_row::columns +
      ", project_id, owner_id, title FROM (SELECT x.*, r.project_id, r.owner_id, r.title "
      "FROM release_records x JOIN airlock_requests r ON r.id = x.request_id "
      "WHERE x.expiry_warned_at IS NULL AND r.status <> 'REVOKED' "
      "AND {us:x.url_expires_at} > :from_us "
      "AND {us:x.url_expires_at} <= :until_us) release_records ORDER BY url_expires_at, id";
  long long from_us = now.micros(), until_us = until.micros();
  return query_all(
      c, one_time(sql),
      [](row_reader& r) {
        expiring_release e;
        e.record = release_row::read(r);
        e.project_id = r.uuid();
        e.owner_id = r.uuid();
        e.title = r.text();
        return e;
      },
      from_us, until_us);
}

delivery_record insert_delivery_record(connection& c, const delivery_record& d) {
  static constexpr auto sql =
      "INSERT INTO delivery_records (id, request_id, delivered_by, object_count, "
      "url_expires_at) VALUES (:id, :request, :by, :count, :expires) RETURNING " +
      delivery_row::columns;
  const std::string id = d.id.str(), request = d.request_id.str(), by = d.delivered_by.str();
  const std::string expires = d.url_expires_at.str();
  long long count = d.object_count;
  return *query_one(c, one_time(sql), delivery_row::read, id, request, by, count, expires);
}

std::optional<delivery_record> find_delivery_record(connection& c, const uuid& request_id) {
  static constexpr auto sql =
      "SELECT " + delivery_row::columns + " FROM delivery_records WHERE request_id = :r";
  const std::string key = request_id.str();
  return query_one(c, one_time(sql), delivery_row::read, key);
}

}  // namespace trevor::detail
