-- wrk: POST /requests (creates, audited), DELAY_MS apart per connection.
-- PROJECT from the environment.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer dev:r1"
wrk.body = '{"project_id":"' .. os.getenv("PROJECT") .. '","direction":"egress","title":"soak"}'
local pause = tonumber(os.getenv("DELAY_MS") or "20")
function delay()
  return pause
end
