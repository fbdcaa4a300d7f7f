-- wrk: an authenticated GET (TOKEN from the environment).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
