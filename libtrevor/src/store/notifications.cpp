#include "store/notifications.hpp"

#include "store/multi_insert.hpp"
#include "store/query.hpp"

namespace trevor::detail {
namespace {

#define TREVOR_NOTIFICATION_COLUMNS \
  "id, user_id, event_type, title, body, request_id, read, {t:created_at}, {t:updated_at}"

notification read_notification(const soci::row& r) {
  notification n;
  n.id = get_uuid(r, 0);
  n.user_id = get_uuid(r, 1);
  n.event_type = get_str(r, 2);
  n.title = get_str(r, 3);
  n.body = get_str(r, 4);
  n.request_id = get_opt_uuid(r, 5);
  n.read = get_bool(r, 6);
  n.created_at = get_ts(r, 7);
  n.updated_at = get_ts(r, 8);
  return n;
}

}  // namespace

notification insert_notification(connection& c, const notification& n) {
  const std::string id = n.id.str(), user = n.user_id.str();
  nullable_text request(n.request_id);
  return *query_one(c, read_notification,
                    "INSERT INTO notifications (id, user_id, event_type, title, body, request_id) "
                    "VALUES (:id, :user, :type, :title, :body, :request) "
                    "RETURNING " TREVOR_NOTIFICATION_COLUMNS,
                    id, user, n.event_type, n.title, n.body, nullable(request));
}

void insert_notifications(connection& c, std::span<const notification> rows) {
  if (rows.empty()) return;
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
  execute_multi_insert(
      c, "INSERT INTO notifications (id, user_id, event_type, title, body, request_id)",
      "(CAST($ AS {uuid}), CAST($ AS {uuid}), $, $, $, CAST($ AS {uuid}))", rows.size(), values);
}

std::vector<notification> list_notifications(connection& c, const notification_page_query& q) {
  const std::string user = q.user_id.str();
  nullable_text before(q.before);
  int unread = q.unread_only ? 1 : 0;
  long long limit = static_cast<long long>(q.limit);
  // The cursor row is looked up by id within the same user's rows, so a
  // cursor naming someone else's notification pages nothing of theirs.
  return query_all<notification>(
      c,
      "SELECT " TREVOR_NOTIFICATION_COLUMNS
      " FROM notifications n WHERE n.user_id = :user "
      "AND (:unread = 0 OR NOT n.read) "
      "AND (CAST(:before AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM notifications b "
      "     WHERE b.id = :before2 AND b.user_id = n.user_id "
      "       AND (n.created_at < b.created_at OR (n.created_at = b.created_at AND n.id < b.id)))) "
      "ORDER BY n.created_at DESC, n.id DESC LIMIT :limit",
      read_notification, user, unread, nullable(before), nullable(before), limit);
}

long long count_unread(connection& c, const uuid& user_id) {
  const std::string user = user_id.str();
  return query_count(c, "SELECT count(*) FROM notifications WHERE user_id = :u AND NOT read", user);
}

std::optional<notification> mark_notification_read(connection& c, const uuid& id,
                                                   const uuid& user_id) {
  const std::string key = id.str(), user = user_id.str();
  // Sets read even when it already was, so the caller can tell "yours" from
  // "not yours" in one statement; the touch trigger moves updated_at.
  return query_one(c, read_notification,
                   "UPDATE notifications SET updated_at = {now}, read = {true} WHERE id = :id AND "
                   "user_id = :user "
                   "RETURNING " TREVOR_NOTIFICATION_COLUMNS,
                   key, user);
}

long long mark_all_notifications_read(connection& c, const uuid& user_id) {
  const std::string user = user_id.str();
  soci::statement st =
      (c.sql.prepare << expanded("UPDATE notifications SET updated_at = {now}, read = {true} "
                                 "WHERE user_id = :u AND NOT read",
                                 c.kind()),
       soci::use(user));
  st.execute(true);
  return st.get_affected_rows();
}

}  // namespace trevor::detail
