-- wrk (one thread, one connection): the workflow over and over — a request
-- created, a 16 KiB object uploaded, submitted, approved by two checkers.
-- PROJECT from the environment; DELAY_MS between requests (default 10).
local project = os.getenv("PROJECT")
local pause = tonumber(os.getenv("DELAY_MS") or "10")
local bytes = string.rep("0123456789abcdef", 1024)
local state, id = 0, nil
local json = { ["Content-Type"] = "application/json" }

local function as(who, extra)
  local h = { ["Authorization"] = "Bearer " .. who }
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

function request()
  if state == 0 or id == nil then
    state = 0
    return wrk.format("POST", "/requests", as("dev:r1", json),
      '{"project_id":"' .. project .. '","direction":"egress","title":"soak"}')
  elseif state == 1 then
    return wrk.format("POST", "/requests/" .. id .. "/objects?filename=t.bin&output_type=other",
      as("dev:r1", { ["Content-Type"] = "application/octet-stream" }), bytes)
  elseif state == 2 then
    return wrk.format("POST", "/requests/" .. id .. "/submit", as("dev:r1"), "")
  elseif state == 3 then
    return wrk.format("POST", "/requests/" .. id .. "/reviews", as("dev:c1", json),
      '{"decision":"approved","summary":"soak"}')
  else
    return wrk.format("POST", "/requests/" .. id .. "/reviews", as("dev:c2", json),
      '{"decision":"approved","summary":"soak"}')
  end
end

function response(status, headers, body)
  if status >= 300 then
    state, id = 0, nil
    return
  end
  if state == 0 then
    id = string.match(body, '"id":"([^"]+)"')
    state = 1
  elseif state == 4 then
    state = 0
  else
    state = state + 1
  end
end

function delay()
  return pause
end
