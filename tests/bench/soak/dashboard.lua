-- wrk: the administrator's reads in turn — the overview, metrics, checkers,
-- projects, an audit page, a page of the request list, notifications —
-- DELAY_MS apart per connection.
local paths = {
  "/admin/requests?limit=50",
  "/admin/metrics",
  "/admin/checkers",
  "/admin/projects",
  "/admin/audit?limit=100",
  "/requests?limit=50",
  "/notifications/unread-count",
}
local pause = tonumber(os.getenv("DELAY_MS") or "200")
local n = 0
function request()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1],
    { ["Authorization"] = "Bearer dev:admin:tre_admin" })
end
function delay()
  return pause
end
