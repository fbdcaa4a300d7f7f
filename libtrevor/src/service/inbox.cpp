// inbox: a user's own notifications.
#include "trevor/inbox.hpp"

#include <fmt/format.h>

#include "db/transaction.hpp"
#include "service/common.hpp"
#include "store/notifications.hpp"
#include "trevor/error.hpp"

namespace trevor {

using detail::connection;
using mode = detail::transaction::mode;

inbox::inbox(database db) : db_(std::move(db)) {}

notification_page inbox::list(const actor& who, std::size_t limit,
                              const std::optional<uuid>& before, bool unread_only) const {
  if (limit < 1 || limit > max_notification_page)
    throw error(errc::invalid_argument,
                fmt::format("limit: must be between 1 and {}", max_notification_page));
  return detail::run_transaction(db_.impl(), mode::read, "list notifications", [&](connection& c) {
    detail::require_active_user(c, who);
    detail::notification_page_query q;
    q.user_id = who.user_id;
    q.limit = limit + 1;  // one more tells whether there is a next page
    q.before = before;
    q.unread_only = unread_only;
    notification_page page;
    page.items = detail::list_notifications(c, q);
    if (page.items.size() > limit) {
      page.items.pop_back();
      page.next_before = page.items.back().id;
    }
    return page;
  });
}

long long inbox::unread_count(const actor& who) const {
  return detail::run_transaction(db_.impl(), mode::read, "unread count", [&](connection& c) {
    detail::require_active_user(c, who);
    return detail::count_unread(c, who.user_id);
  });
}

notification inbox::mark_read(const actor& who, const uuid& notification_id) {
  return detail::run_transaction(db_.impl(), mode::write, "mark read", [&](connection& c) {
    detail::require_active_user(c, who);
    auto n = detail::mark_notification_read(c, notification_id, who.user_id);
    if (!n)
      throw error(errc::not_found, fmt::format("notification {} not found", notification_id.str()));
    return *n;
  });
}

long long inbox::mark_all_read(const actor& who) {
  return detail::run_transaction(db_.impl(), mode::write, "mark all read", [&](connection& c) {
    detail::require_active_user(c, who);
    return detail::mark_all_notifications_read(c, who.user_id);
  });
}

}  // namespace trevor
