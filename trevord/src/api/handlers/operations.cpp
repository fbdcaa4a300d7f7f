// The operations endpoints (no authentication): health, readiness, the
// Prometheus metrics and the OpenAPI document.
#include "api/handlers/handlers.hpp"
#include "api/json_io.hpp"
#include "trevor/version.hpp"

namespace trevord::handlers {

reply health(api&, call&) {
  return ok(json::object{{"status", "ok"}, {"version", trevor::version}});
}

reply readyz(api& a, call&) {
  auto [ready, why] = a.status.readiness();
  if (!ready) throw http_error(http::status::service_unavailable, why);
  return ok(json::object{{"status", "ready"}});
}

reply metrics_text(api& a, call&) {
  metrics::gauges g;
  g.in_flight = a.status.in_flight.load();
  g.draining = a.status.draining.load();
  g.pool_size = a.db.pool_size();
  g.pool_in_use = a.db.in_use();
  const auto groups = a.db.group_commits();
  g.group_commits = groups.commits;
  g.grouped_writes = groups.writes;
  for (const auto& [status, n] : a.workflow.requests.count_by_status())
    g.requests_by_status.emplace_back(trevor::to_string(status), n);
  agent_gauges(a, g);
  g.notification_deliveries = a.notifier.counts();
  reply r;
  r.text = a.metrics.render(g);
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

reply openapi(api&, call&) {
  reply r;
  r.text = std::string(openapi_document());
  return r;
}

}  // namespace trevord::handlers
