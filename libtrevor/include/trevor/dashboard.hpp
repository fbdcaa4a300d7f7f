#pragma once
// trevor::dashboard — the read models of the admin dashboard (domain §6).
//
// Computed by the database, never by loading rows and looping in C++. This
// first part holds the audit search and its CSV export; the request overview,
// pipeline metrics, checker performance and project summaries join it.
//
// Every function needs an active user with tre_admin (else forbidden).
// Thread-safety: all member functions may be called concurrently.

#include <string>
#include <string_view>

#include "trevor/audit.hpp"
#include "trevor/blob_store.hpp"
#include "trevor/database.hpp"
#include "trevor/workflow.hpp"

namespace trevor {

/// The header line of the audit CSV export (without its CRLF).
inline constexpr std::string_view audit_csv_header =
    "id,timestamp,event_type,actor_id,request_id,payload";

/// One CSV cell (RFC 4180): text starting with '=', '+', '-', '@', a tab or
/// a carriage return gets a leading "'" so that spreadsheets do not read it
/// as a formula; a cell containing a comma, a double quote, CR or LF is
/// quoted with its quotes doubled.
std::string csv_cell(std::string_view text);

class dashboard {
 public:
  explicit dashboard(database db);

  /// One page of the audit trail matching every filter of `q` (newest first
  /// unless q.order says otherwise; keyset pagination, see audit_log::query).
  audit_page audit_search(const actor& who, const audit_query& q) const;

  /// Every event matching the filters of `q` (q.limit and q.cursor are
  /// ignored) as CSV: audit_csv_header, then one line per event, newest first,
  /// lines ending in CRLF. Streamed to `sink` a page (up to max_audit_page
  /// events) at a time, so memory stays flat whatever the trail's size. The
  /// pages are read one after the other (keyset), not in one snapshot: events
  /// appended during the export may or may not appear, none twice.
  void audit_export_csv(const actor& who, audit_query q, const byte_writer& sink) const;

 private:
  void require_admin(const actor& who) const;
  database db_;
};

}  // namespace trevor
