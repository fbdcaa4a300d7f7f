-- wrk: GET /requests/{id} and its objects as the owner, without pause.
-- REQUEST from the environment.
local id = os.getenv("REQUEST")
local n = 0
function request()
  n = n + 1
  local path = (n % 2 == 0) and ("/requests/" .. id) or ("/requests/" .. id .. "/objects")
  return wrk.format("GET", path, { ["Authorization"] = "Bearer dev:r1" })
end
