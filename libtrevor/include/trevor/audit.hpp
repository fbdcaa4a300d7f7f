#pragma once
// trevor::audit_log — the insert-only audit trail.
//
// The database refuses UPDATE and DELETE on audit_events (triggers on both
// engines, and missing privileges for the application role on PostgreSQL);
// this class only appends and reads. The database assigns `seq` (strictly
// increasing) and `occurred_at`; the library assigns the UUIDv7 `id`.
//
// Workflow operations append their events inside their own transaction
// through the library's internal store; this class is the stand-alone entry
// point for embedders and for reads.
//
// Thread-safety: all member functions may be called from any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "trevor/database.hpp"
#include "trevor/export.hpp"
#include "trevor/time.hpp"
#include "trevor/uuid.hpp"

namespace trevor {

/// The actor of events the agent causes, and of events with no person behind them.
inline constexpr std::string_view agent_actor = "agent:trevor-agent";
inline constexpr std::string_view system_actor = "system";
/// The holder of a signed download or upload link (no user is known).
inline constexpr std::string_view link_actor = "link";

struct audit_event_input {
  std::string actor;       // a user UUID, agent_actor or system_actor
  std::string event_type;  // namespaced: "request.submitted"
  std::optional<uuid> request_id;
  std::optional<uuid> project_id;
  std::string payload_json = "{}";  // a JSON object
};

struct audit_event {
  uuid id;
  std::int64_t seq = 0;
  timestamp occurred_at;
  std::string actor;
  std::string event_type;
  std::optional<uuid> request_id;
  std::optional<uuid> project_id;
  std::string payload_json;
};

enum class audit_order { newest_first, oldest_first };

struct audit_query {
  std::optional<uuid> project_id;
  std::optional<uuid> request_id;
  std::optional<std::string> actor;
  /// Matches event types that start with this text ("request." or
  /// "request.submitted"); no wildcard characters are interpreted.
  std::optional<std::string> event_type_prefix;
  std::optional<timestamp> since;  // inclusive
  std::optional<timestamp> until;  // exclusive
  audit_order order = audit_order::newest_first;
  std::size_t limit = 100;  // 1..max_audit_page
  /// next_cursor of the previous page, or empty for the first page.
  std::string cursor;
};

inline constexpr std::size_t max_audit_page = 1000;

struct audit_page {
  std::vector<audit_event> items;
  /// Empty when this was the last page.
  std::string next_cursor;
};

class TREVOR_EXPORT audit_log {
 public:
  explicit audit_log(database db, id_source* ids = nullptr);

  /// Appends one event in its own transaction. Validates actor, event type and
  /// payload (a JSON object) first: invalid_argument names the field.
  audit_event append(const audit_event_input& event);

  /// Appends all events in one transaction, in order (their seq increases in
  /// the order given): all or nothing.
  std::vector<audit_event> append_many(std::span<const audit_event_input> events);

  /// One page of events matching every filter given, ordered by
  /// (occurred_at, seq). Keyset pagination: stable under concurrent appends.
  audit_page query(const audit_query& q) const;

  /// The number of events in the trail.
  std::int64_t count() const;

 private:
  database db_;
  id_source* ids_;
};

}  // namespace trevor
