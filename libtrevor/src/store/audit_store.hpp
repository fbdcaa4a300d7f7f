#pragma once
// audit_events: the store's append and read primitives (internal);
// implemented in store/audit_store.cpp, used by trevor::audit_log
// (audit/audit_log.cpp) and by the services.
//
// insert_audit_event() runs on the caller's connection, inside the caller's
// transaction when there is one: that is how a workflow operation writes its
// events atomically with its change (libtrevor/README.md, "The services").

#include <optional>
#include <span>
#include <string>

#include "db/connection.hpp"
#include "store/query.hpp"
#include "trevor/audit.hpp"

namespace trevor::detail {

/// audit_events: the columns every statement reads and their reader.
struct audit_event_row {
  static constexpr sql_text columns{
      "id, seq, {t:occurred_at}, actor, event_type, request_id, project_id, payload"};

  static audit_event read(row_reader& r) {
    audit_event e;
    e.id = r.uuid();
    e.seq = r.i64();
    e.occurred_at = r.ts();
    e.actor = r.text();
    e.event_type = r.text();
    e.request_id = r.opt_uuid();
    e.project_id = r.opt_uuid();
    e.payload_json = r.text();
    return e;
  }
};

/// Throws error(invalid_argument) naming the first bad field: actor empty or
/// longer than 255 bytes; event type not of the form `word.word[.word]`
/// (lower-case letters, digits, '_'), or longer than 100; payload not a JSON
/// object; request/project id nil.
void validate_audit_event(const audit_event_input& e);

/// Inserts one validated event with the given id and returns it as stored
/// (seq and occurred_at assigned by the database).
audit_event insert_audit_event(connection& c, const audit_event_input& e, const uuid& id);

/// Inserts validated events with the given ids (same length) in order with
/// one multi-row statement; their seq increases in that order.
void insert_audit_events(connection& c, std::span<const audit_event_input> events,
                         std::span<const uuid> ids);
class write_chain;
/// insert_audit_events() as one write of a transition's chain (one
/// multi-row INSERT: sequence numbers in the order given).
void add_audit_events(write_chain& w, std::span<const audit_event_input> events,
                      std::span<const uuid> ids);

/// The statement of audit_log::query() for `q`, with the values it binds.
/// Exposed so that tests can EXPLAIN exactly what a search runs.
struct audit_select {
  sql_builder statement;
  std::string sql;  // statement's text expanded for the engine
  /// Binds the values to a statement being prepared from `sql`.
  void bind(soci::details::prepare_temp_type& prep) const;
};

/// Validates `q` (limit, event-type prefix, cursor; invalid_argument) and
/// builds its statement.
audit_select build_audit_select(const audit_query& q, engine kind);

/// Runs `select` (built for a query of page size `limit`): one page of
/// audit_log::query().
audit_page select_audit_page(connection& c, const audit_select& select, std::size_t limit);

/// SQLite's plan for a search whose only indexed filter is an event-type
/// prefix (no project, request or actor): SQLite would read the prefix's
/// whole range of the type index and sort it, or walk the time index and
/// filter. Instead the prefix's distinct event types are found by index
/// seeks and each type's range of (event_type, occurred_at, seq) is read in
/// page order up to one page, the pages merged in one statement: the cost of
/// a page per type, not of the prefix's events. nullopt when `q` is not such
/// a search (or has too many types): run build_audit_select()'s statement.
/// `q` must have passed build_audit_select() (its validation). Run it in a
/// read transaction: its statements then share one snapshot.
std::optional<audit_page> select_audit_page_by_types(connection& c, const audit_query& q);

/// The number of audit events.
long long count_audit_events(connection& c);

}  // namespace trevor::detail
