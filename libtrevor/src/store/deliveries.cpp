#include "store/deliveries.hpp"

#include <tuple>

#include "store/query.hpp"
#include "trevor/error.hpp"

namespace trevor::detail {
namespace {

notify_channel channel_of(const std::string& text) {
  if (auto c = parse_notify_channel(text)) return *c;
  throw error(errc::internal, "notification_deliveries: unknown channel '" + text + "'");
}

delivery_state state_of(const std::string& text) {
  if (auto s = parse_delivery_state(text)) return *s;
  throw error(errc::internal, "notification_deliveries: unknown state '" + text + "'");
}

/// A delivery with its notification and recipient (the admin read model).
struct delivery_row {
  static constexpr sql_text columns{
      "d.notification_id, d.channel, d.state, d.attempts, {t:d.next_attempt_at}, d.last_error, "
      "{t:d.created_at}, {t:d.updated_at}, n.user_id, u.username, n.event_type, n.title, "
      "n.request_id, {t:n.created_at}"};
  static constexpr sql_text from{
      " FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id "
      "JOIN users u ON u.id = n.user_id"};

  static notification_delivery read(row_reader& r) {
    notification_delivery d;
    d.notification_id = r.uuid();
    d.channel = channel_of(r.text());
    d.state = state_of(r.text());
    d.attempts = static_cast<int>(r.i64());
    d.next_attempt_at = r.ts();
    d.last_error = r.text();
    d.created_at = r.ts();
    d.updated_at = r.ts();
    d.user_id = r.uuid();
    d.username = r.text();
    d.event_type = r.text();
    d.title = r.text();
    d.request_id = r.opt_uuid();
    d.notification_created_at = r.ts();
    return d;
  }
};

/// The WHERE clause of the read model's filters.
void filter(sql_builder& b, const delivery_query& q) {
  b.condition() << "d.state IN (";
  for (std::size_t i = 0; i < q.states.size(); ++i) {
    if (i) b << ", ";
    b.text(std::string(to_string(q.states[i])));
  }
  b << ")";
  if (q.channel) {
    b.condition() << "d.channel = ";
    b.text(std::string(to_string(*q.channel)));
  }
}

}  // namespace

long long add_missing_deliveries(connection& c, notify_channel channel, timestamp since,
                                 timestamp now, long long limit) {
  static constexpr sql_text sql{
      "INSERT INTO notification_deliveries (notification_id, channel, next_attempt_at) "
      "SELECT n.id, CAST(:channel AS TEXT), CAST(:now AS {ts}) FROM notifications n "
      "WHERE n.created_at >= :since AND NOT EXISTS (SELECT 1 FROM notification_deliveries d "
      "  WHERE d.notification_id = n.id AND d.channel = :channel2) "
      "ORDER BY n.created_at LIMIT :limit ON CONFLICT DO NOTHING"};
  const std::string ch(to_string(channel)), from = since.str(), at = now.str();
  return execute(c, one_time(sql), ch, at, from, ch, limit);
}

std::vector<claimed_delivery> claim_deliveries(connection& c, bool email, bool webhook,
                                               const std::string& token, timestamp now,
                                               timestamp until, long long limit) {
  // The inner SELECT picks due rows (skipping rows another claimer has
  // locked on PostgreSQL); the outer conditions are checked again on the
  // row the UPDATE writes, so a row claimed meanwhile is left alone.
  static constexpr sql_text claim{
      "UPDATE notification_deliveries SET claimed_by = :token, claimed_until = :until, "
      "attempts = attempts + 1, updated_at = {now} "
      "WHERE (notification_id, channel) IN (SELECT notification_id, channel "
      "  FROM notification_deliveries WHERE state = 'pending' AND next_attempt_at <= :now "
      "  AND (claimed_until IS NULL OR claimed_until <= :now2) "
      "  AND ((channel = 'email' AND :email = 1) OR (channel = 'webhook' AND :webhook = 1)) "
      "  ORDER BY next_attempt_at, notification_id LIMIT :limit "
      "  {skip_locked:notification_deliveries}) "
      "AND state = 'pending' AND (claimed_until IS NULL OR claimed_until <= :now3)"};
  static constexpr sql_text read{
      "SELECT d.channel, d.attempts, n.id, n.event_type, n.title, n.body, n.request_id, "
      "{t:n.created_at}, u.id, u.username, u.email, u.active, COALESCE(r.title, '') "
      "FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id "
      "JOIN users u ON u.id = n.user_id LEFT JOIN airlock_requests r ON r.id = n.request_id "
      "WHERE d.claimed_by = :token ORDER BY d.next_attempt_at, d.notification_id, d.channel"};
  const std::string at = now.str(), till = until.str();
  int want_email = email ? 1 : 0, want_webhook = webhook ? 1 : 0;
  if (execute(c, one_time(claim), token, till, at, at, want_email, want_webhook, limit, at) == 0)
    return {};
  return query_all(
      c, one_time(read),
      [](row_reader& r) {
        claimed_delivery d;
        d.channel = channel_of(r.text());
        d.note.attempt = static_cast<int>(r.i64());
        d.note.id = r.uuid();
        d.note.event_type = r.text();
        d.note.title = r.text();
        d.note.body = r.text();
        d.note.request_id = r.opt_uuid();
        d.note.created_at = r.ts();
        d.note.user_id = r.uuid();
        d.note.username = r.text();
        d.note.email = r.text();
        d.user_active = r.boolean();
        d.note.request_title = r.text();
        return d;
      },
      token);
}

bool record_attempt(connection& c, const attempt_record& a, const std::string& token,
                    delivery_state state, timestamp next) {
  static constexpr sql_text settle{
      "UPDATE notification_deliveries SET state = :state, next_attempt_at = :next, "
      "last_error = :error, claimed_by = NULL, claimed_until = NULL, updated_at = {now} "
      "WHERE notification_id = :id AND channel = :channel AND claimed_by = :token "
      "AND state = 'pending'"};
  static constexpr sql_text insert{
      "INSERT INTO notification_delivery_attempts (id, notification_id, channel, attempt, "
      "outcome, error, duration_ms, dispatcher) "
      "VALUES (:id, :notification, :channel, :attempt, :outcome, :error, :ms, :by)"};
  const std::string st(to_string(state)), at = next.str(), id = a.notification_id.str();
  const std::string ch(to_string(a.channel)), key = a.id.str(), outcome(to_string(a.outcome));
  // Diagnostics from servers may be any bytes: keep printable ASCII, at
  // most the column's 2000 characters.
  std::string clipped;
  for (char x : std::string_view(a.error).substr(0, 2000)) {
    const auto b = static_cast<unsigned char>(x);
    clipped.push_back(b >= 0x20 && b < 0x7f ? x : (b == '\n' || b == '\t' ? ' ' : '?'));
  }
  const bool moved = execute(c, one_time(settle), st, at, clipped, id, ch, token) > 0;
  long long attempt = a.attempt, ms = a.duration_ms;
  execute(c, one_time(insert), key, id, ch, attempt, outcome, clipped, ms, a.dispatcher);
  return moved;
}

std::vector<notification_delivery> select_deliveries(connection& c, const delivery_query& q) {
  sql_builder b;
  b << "SELECT " << delivery_row::columns.view() << delivery_row::from.view();
  filter(b, q);
  b << " ORDER BY d.created_at, d.notification_id, d.channel LIMIT ";
  b.integer(static_cast<long long>(q.limit));
  b << " OFFSET ";
  b.integer(static_cast<long long>(q.offset));
  return query_all(c, b, delivery_row::read);
}

long long count_deliveries(connection& c, const delivery_query& q) {
  sql_builder b;
  b << "SELECT count(*) FROM notification_deliveries d";
  filter(b, q);
  return query_one(c, b, read_count).value_or(0);
}

std::vector<std::tuple<std::string, std::string, long long>> delivery_counts(connection& c) {
  return query_all(c,
                   one_time("SELECT channel, state, count(*) FROM notification_deliveries "
                            "GROUP BY channel, state"),
                   [](row_reader& r) {
                     auto ch = r.text();
                     auto st = r.text();
                     return std::tuple<std::string, std::string, long long>(std::move(ch),
                                                                            std::move(st), r.i64());
                   });
}

}  // namespace trevor::detail
