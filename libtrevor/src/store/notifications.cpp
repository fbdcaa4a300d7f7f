#include "store/notifications.hpp"

#include "store/multi_insert.hpp"
#include "store/query.hpp"

namespace trevor::detail {
namespace {

/// notifications: the columns every statement reads and their reader.
struct notification_row {
  static constexpr sql_text columns{
      "id, user_id, event_type, title, body, request_id, read, {t:created_at}, {t:updated_at}"};

  static notification read(row_reader& r) {
    notification n;
    n.id = r.uuid();
    n.user_id = r.uuid();
    n.event_type = r.text();
    n.title = r.text();
    n.body = r.text();
    n.request_id = r.opt_uuid();
    n.read = r.boolean();
    n.created_at = r.ts();
    n.updated_at = r.ts();
    return n;
  }
};

}  // namespace

notification insert_notification(connection& c, const notification& n) {
  static constexpr auto sql =
      "INSERT INTO notifications (id, user_id, event_type, title, body, request_id) "
      "VALUES (:id, :user, :type, :title, :body, :request) RETURNING " +
      notification_row::columns;
  const std::string id = n.id.str(), user = n.user_id.str();
  nullable_text request(n.request_id);
  return *query_one(c, one_time(sql), notification_row::read, id, user, n.event_type, n.title,
                    n.body, nullable(request));
}

namespace {

constexpr char notification_insert_head[] =
    "INSERT INTO notifications (id, user_id, event_type, title, body, request_id)";
constexpr char notification_insert_row[] =
    "(CAST($ AS {uuid}), CAST($ AS {uuid}), $, $, $, CAST($ AS {uuid}))";

std::vector<nullable_text> notification_values(std::span<const notification> rows) {
  std::vector<nullable_text> values;
  values.reserve(rows.size() * 6);
  const auto text = [](std::string v) {
    return nullable_text(std::optional<std::string>(std::move(v)));
  };
  for (const auto& n : rows) {
    values.push_back(text(n.id.str()));
    values.push_back(text(n.user_id.str()));
    values.push_back(text(n.event_type));
    values.push_back(text(n.title));
    values.push_back(text(n.body));
    values.emplace_back(n.request_id);
  }
  return values;
}

}  // namespace

void insert_notifications(connection& c, std::span<const notification> rows) {
  if (rows.empty()) return;
  auto values = notification_values(rows);
  execute_multi_insert(c, notification_insert_head, notification_insert_row, rows.size(), values);
}

void add_notifications(write_chain& w, std::span<const notification> rows) {
  if (rows.empty()) return;
  w.insert(notification_insert_head, notification_insert_row, rows.size(),
           notification_values(rows));
}

std::vector<notification> list_notifications(connection& c, const notification_page_query& q) {
  // The cursor row is looked up by id within the same user's rows, so a
  // cursor naming someone else's notification pages nothing of theirs.
  static constexpr auto sql =
      "SELECT " + notification_row::columns +
      " FROM notifications n WHERE n.user_id = :user "
      "AND (:unread = 0 OR NOT n.read) "
      "AND (CAST(:before AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM notifications b "
      "     WHERE b.id = :before2 AND b.user_id = n.user_id "
      "       AND (n.created_at < b.created_at OR (n.created_at = b.created_at AND n.id < b.id)))) "
      "ORDER BY n.created_at DESC, n.id DESC LIMIT :limit";
  const std::string user = q.user_id.str();
  nullable_text before(q.before);
  int unread = q.unread_only ? 1 : 0;
  long long limit = static_cast<long long>(q.limit);
  return query_all(c, one_time(sql), notification_row::read, user, unread, nullable(before),
                   nullable(before), limit);
}

long long count_unread(connection& c, const uuid& user_id) {
  const std::string user = user_id.str();
  return query_count(
      c, one_time("SELECT count(*) FROM notifications WHERE user_id = :u AND NOT read"), user);
}

std::optional<notification> mark_notification_read(connection& c, const uuid& id,
                                                   const uuid& user_id) {
  // Sets read even when it already was, so the caller can tell "yours" from
  // "not yours" in one statement; the touch trigger moves updated_at.
  static constexpr auto sql =
      "UPDATE notifications SET updated_at = {now}, read = {true} "
      "WHERE id = :id AND user_id = :user RETURNING " +
      notification_row::columns;
  const std::string key = id.str(), user = user_id.str();
  return query_one(c, one_time(sql), notification_row::read, key, user);
}

long long mark_all_notifications_read(connection& c, const uuid& user_id) {
  const std::string user = user_id.str();
  return execute(c,
                 one_time("UPDATE notifications SET updated_at = {now}, read = {true} "
                          "WHERE user_id = :u AND NOT read"),
                 user);
}

}  // namespace trevor::detail
