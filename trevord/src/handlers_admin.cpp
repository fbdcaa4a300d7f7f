// The admin dashboard: audit search and CSV export.
#include <fmt/format.h>

#include "handlers.hpp"
#include "json_io.hpp"

namespace trevord::handlers {

namespace {

/// The audit filters of the query string (both endpoints).
trevor::audit_query audit_filters(const call& c) {
  trevor::audit_query q;
  q.project_id = c.query_id("project_id");
  q.request_id = c.query_id("request_id");
  if (auto v = c.query_value("actor_id"); v && !v->empty()) q.actor = *v;
  if (auto v = c.query_value("event_type"); v && !v->empty()) q.event_type_prefix = *v;
  for (auto [name, field] : {std::pair{"since", &q.since}, std::pair{"until", &q.until}})
    if (auto v = c.query_value(name)) {
      auto t = trevor::timestamp::parse(*v);
      if (!t) invalid(name, fmt::format("'{}' is not an RFC 3339 time", *v));
      *field = *t;
    }
  return q;
}

// The largest page /admin/audit serves (api.md).
constexpr long long max_admin_audit_page = 500;
constexpr long long default_admin_audit_page = 100;

}  // namespace

reply admin_audit(api& a, call& c) {
  auto q = audit_filters(c);
  q.limit = static_cast<std::size_t>(
      c.query_integer("limit", 1, max_admin_audit_page).value_or(default_admin_audit_page));
  q.cursor = c.query_value("cursor").value_or("");
  const auto page = a.dashboard.audit_search(person(c), q);
  return ok(
      json::object{{"items", to_json(page.items)},
                   {"next_cursor", page.next_cursor.empty() ? json::value(nullptr)
                                                            : json::value(page.next_cursor)}});
}

reply admin_audit_export(api& a, call& c) {
  const auto q = audit_filters(c);
  bool started = false;
  a.dashboard.audit_export_csv(person(c), q, [&](std::string_view chunk) {
    if (!started) {
      c.sink->start(std::nullopt, "text/csv; charset=utf-8", "attachment; filename=\"audit.csv\"");
      started = true;
    }
    c.sink->write(chunk);
  });
  reply r;
  r.streamed = true;
  return r;
}

}  // namespace trevord::handlers
