// A person's notifications (trevor::inbox).
#include "api/handlers/handlers.hpp"
#include "api/json_io.hpp"

namespace trevord::handlers {

reply notifications_list(api& a, call& c) {
  const auto limit = c.query_integer("limit", 1, trevor::max_notification_page)
                         .value_or(trevor::default_notification_page);
  const auto page = a.inbox.list(person(c), static_cast<std::size_t>(limit), c.query_id("before"),
                                 c.query_bool("unread_only").value_or(false));
  reply r = ok(to_json(page.items));
  return r;
}

reply notifications_unread(api& a, call& c) {
  return ok(json::object{{"count", a.inbox.unread_count(person(c))}});
}

reply notification_read(api& a, call& c) {
  return ok(to_json(a.inbox.mark_read(person(c), c.id("notification_id"))));
}

reply notifications_read_all(api& a, call& c) {
  a.inbox.mark_all_read(person(c));
  return no_content();
}

}  // namespace trevord::handlers
