#pragma once
// notification_deliveries and notification_delivery_attempts (internal
// repository): the notifier's queue, its claims and its attempt log
// (schema/0006_notification_deliveries.sql).

#include <string>
#include <vector>

#include "db/connection.hpp"
#include "notify/transport.hpp"
#include "trevor/notifier.hpp"

namespace trevor::detail {

/// Adds a pending delivery on `channel`, due at `now`, for each notification
/// created since `since` that has none; at most `limit`. Returns how many.
long long add_missing_deliveries(connection& c, notify_channel channel, timestamp since,
                                 timestamp now, long long limit);

/// A claimed delivery and what sending it needs.
struct claimed_delivery {
  notify_channel channel = notify_channel::email;
  bool user_active = true;
  outgoing_notification note;  // note.attempt: this attempt's number
};

/// Claims up to `limit` pending deliveries due at `now` on the channels
/// asked for (not claimed, or whose claim expired), for `token` until
/// `until`, counting the attempt; returns them with their notification.
std::vector<claimed_delivery> claim_deliveries(connection& c, bool email, bool webhook,
                                               const std::string& token, timestamp now,
                                               timestamp until, long long limit);

struct attempt_record {
  uuid id;
  uuid notification_id;
  notify_channel channel = notify_channel::email;
  int attempt = 0;
  attempt_outcome outcome = attempt_outcome::failed;
  std::string error;
  long long duration_ms = 0;
  std::string dispatcher;
};

/// Records the attempt and moves its delivery to `state` (next attempt due
/// at `next` when pending), releasing the claim. The delivery changes only
/// while `token` still holds it; returns whether it did. The attempt row is
/// written either way (it happened).
bool record_attempt(connection& c, const attempt_record& a, const std::string& token,
                    delivery_state state, timestamp next);

std::vector<notification_delivery> select_deliveries(connection& c, const delivery_query& q);
long long count_deliveries(connection& c, const delivery_query& q);
/// Rows by (channel, state).
std::vector<std::tuple<std::string, std::string, long long>> delivery_counts(connection& c);

}  // namespace trevor::detail
