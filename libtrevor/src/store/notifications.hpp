#pragma once
// notifications (internal repository): the transactional outbox of in-app
// messages. Runs in the caller's transaction.

#include <optional>
#include <span>
#include <vector>

#include "db/connection.hpp"
#include "trevor/model.hpp"

namespace trevor::detail {

notification insert_notification(connection& c, const notification& n);
/// Inserts rows (id, user_id, event_type, title, body, request_id of each)
/// with one multi-row statement.
void insert_notifications(connection& c, std::span<const notification> rows);
class write_chain;
/// insert_notifications() as one write of a transition's chain.
void add_notifications(write_chain& w, std::span<const notification> rows);

struct notification_page_query {
  uuid user_id;
  std::size_t limit = 20;
  /// Keyset cursor: rows strictly older than this notification of the same user.
  std::optional<uuid> before;
  bool unread_only = false;
};
/// A user's own rows, newest first by (created_at, id).
std::vector<notification> list_notifications(connection& c, const notification_page_query& q);
long long count_unread(connection& c, const uuid& user_id);
/// Marks one of the user's own rows read; nullopt when the row does not
/// exist or belongs to someone else.
std::optional<notification> mark_notification_read(connection& c, const uuid& id,
                                                   const uuid& user_id);
/// Marks all the user's unread rows read; returns how many changed.
long long mark_all_notifications_read(connection& c, const uuid& user_id);

}  // namespace trevor::detail
