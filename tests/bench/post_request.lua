-- wrk: POST /requests with a JSON body (PROJECT and TOKEN from the environment).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"project_id":"' .. os.getenv("PROJECT") .. '","direction":"egress","title":"bench"}'
