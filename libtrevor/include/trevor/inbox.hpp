#pragma once
// trevor::inbox — a user's in-app notifications.
//
// The rows are written by the workflow in the transaction of the event that
// caused them; here their owner reads them and marks them read. Nobody reads
// or marks another user's rows: such ids are reported as not_found.
//
// Thread-safety: all member functions may be called concurrently.

#include <cstddef>
#include <optional>
#include <vector>

#include "trevor/actor.hpp"
#include "trevor/database.hpp"
#include "trevor/export.hpp"
#include "trevor/model.hpp"

namespace trevor {

inline constexpr std::size_t default_notification_page = 20;
inline constexpr std::size_t max_notification_page = 100;

struct notification_page {
  std::vector<notification> items;  // newest first by (created_at, id)
  /// The id to pass as `before` for the next page; empty on the last page.
  std::optional<uuid> next_before;
};

class TREVOR_EXPORT inbox {
 public:
  explicit inbox(database db);

  /// The actor's rows older than `before` (a notification id of theirs),
  /// newest first; `limit` in 1..max_notification_page.
  notification_page list(const actor& who, std::size_t limit = default_notification_page,
                         const std::optional<uuid>& before = std::nullopt,
                         bool unread_only = false) const;
  long long unread_count(const actor& who) const;
  /// Marks one of the actor's rows read (idempotent); not_found otherwise.
  notification mark_read(const actor& who, const uuid& notification_id);
  /// Marks all the actor's unread rows read; returns how many changed.
  long long mark_all_read(const actor& who);

 private:
  database db_;
};

}  // namespace trevor
