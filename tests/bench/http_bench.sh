#!/usr/bin/env bash
# trevord under load, next to a bare Boost.Beast server in the same run
# (wrk, 2 threads, 32 connections), on SQLite and on a throwaway PostgreSQL
# (fsync on); plus start-to-ready, idle RSS, peak RSS across a 500 MB
# upload (raw and multipart), and across the release of those objects (about
# 1 GB) and the download of its package.
#
# Every rate is the median of RUNS wrk runs (default 3), and each is compared
# with a baseline at its own concurrency: GET against the bare server under
# the same 32 connections, POST /requests against the raw driver's
# single-row commit from 32 writers at once (raw_commit_bench; from one
# writer too, for reference).
#
#   tests/bench/http_bench.sh BUILD_DIR [SECONDS] [RUNS]     (a Release build)
set -euo pipefail
build=${1:?usage: http_bench.sh BUILD_DIR [SECONDS] [RUNS]}
secs=${2:-10}
runs=${3:-3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools="$build/tests/bench/http_tools"
trevord="$build/trevord/trevord"
# shellcheck source=lib.sh
. "$here/lib.sh"
bench_scratch trevor-http-bench

rate() { wrk -t2 -c32 -d"${secs}s" "$@" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
# "MEDIAN RUN1 RUN2 …": RUNS runs of rate with these arguments.
median_rate() {
  local all=() i
  for ((i = 0; i < runs; i++)); do all+=("$(rate "$@")"); done
  printf '%s\n' "${all[@]}" | sort -n | awk '{v[NR] = $1} END {printf "%s", v[int((NR + 1) / 2)]}'
  printf ' %s' "${all[@]}"
}
# The raw driver's single-row commit rate (median of 3) on URL's engine with WRITERS writers.
raw_commits() {
  "$build/tests/bench/raw_commit_bench" "$1" "$2" "$3" |
    awk '/^median/ {sub("/s", "", $2); print $2}'
}
rss_kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
bare_port=18181
"$tools" bare $bare_port 2 &
pids+=($!)
sleep 0.3

run_engine() {
  local engine=$1 url=$2 port=$3
  export DATABASE_URL=$url TREVOR_ENV=development TREVOR_DEV_AUTH_BYPASS=true TREVOR_PORT=$port \
    TREVOR_THREADS=2 TREVOR_DB_POOL_SIZE=8 TREVOR_STORAGE_DIR="$work/blobs-$engine" \
    TREVOR_MAX_UPLOAD_MB=600 TREVOR_LOG_LEVEL=info
  local started pid ms
  started=$("$tools" ready "$trevord")
  ms=${started% *}
  pid=${started#* }
  pids+=("$pid")
  sleep 1
  echo "== $engine"
  echo "start to ready (empty database, migrations included): ${ms} ms"
  echo "idle RSS: $(rss_kb "$pid" VmRSS) kB"

  local base="http://127.0.0.1:$port" admin="Authorization: Bearer dev:admin:tre_admin"
  local project=0190f5c2-0000-7000-8000-00000000b001
  curl -sf -H "$admin" -H 'Content-Type: application/json' \
    -d "{\"projects\":[{\"id\":\"$project\",\"name\":\"bench\"}]}" "$base/admin/projects/sync" >/dev/null
  local r1
  r1=$(curl -sf -H 'Authorization: Bearer dev:r1' "$base/users/me" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
  curl -sf -H "$admin" -H 'Content-Type: application/json' \
    -d "{\"user_id\":\"$r1\",\"project_id\":\"$project\",\"role\":\"researcher\"}" "$base/memberships" >/dev/null
  local rid
  rid=$(curl -sf -H 'Authorization: Bearer dev:r1' -H 'Content-Type: application/json' \
    -d "{\"project_id\":\"$project\",\"direction\":\"egress\",\"title\":\"bench\"}" "$base/requests" |
    grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
  curl -sf -H 'Authorization: Bearer dev:r1' -H 'Content-Type: application/octet-stream' \
    --data-binary 'a,b' "$base/requests/$rid/objects?filename=t.csv&output_type=tabular" >/dev/null

  local bare_health health get post bare_runs health_runs get_runs post_runs
  read -r bare_health bare_runs <<<"$(median_rate "http://127.0.0.1:$bare_port/health")"
  read -r health health_runs <<<"$(median_rate "$base/health")"
  read -r get get_runs <<<"$(TOKEN=dev:r1 median_rate -s "$here/get_request.lua" "$base/requests/$rid")"
  read -r post post_runs <<<"$(TOKEN=dev:r1 PROJECT=$project median_rate -s "$here/post_request.lua" "$base/requests")"
  echo "wrk: 2 threads, 32 connections, ${secs} s per run; median of $runs runs (the runs in brackets)"
  echo "GET /health            bare Beast ${bare_health}/s [$bare_runs]   trevord ${health}/s [$health_runs]   ratio $(ratio "$health" "$bare_health")"
  local get_target=0.4
  [ "$engine" = postgresql ] && get_target=0.25
  echo "GET /requests/{id}     ${get}/s [$get_runs]   ratio to bare /health $(ratio "$get" "$bare_health") (target >= $get_target)"
  echo "POST /requests         ${post}/s [$post_runs]"
  echo "RSS after load: $(rss_kb "$pid" VmRSS) kB"

  # 500 MB through the upload path, raw and multipart: peak RSS.
  [ -f "$work/big.bin" ] || head -c $((500 * 1024 * 1024)) /dev/urandom >"$work/big.bin"
  local t0 t1
  t0=$(date +%s.%N)
  curl -sf -H 'Authorization: Bearer dev:r1' -H 'Content-Type: application/octet-stream' \
    --data-binary @"$work/big.bin" "$base/requests/$rid/objects?filename=big.bin&output_type=other" >/dev/null
  t1=$(date +%s.%N)
  curl -sf -H 'Authorization: Bearer dev:r1' -F output_type=other -F file=@"$work/big.bin" \
    "$base/requests/$rid/objects" >/dev/null
  echo "500 MB upload: raw $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", 500 / (b - a)}') MB/s; peak RSS over the run (VmHWM) $(rss_kb "$pid" VmHWM) kB"

  # Release of those objects (about 1 GB) and the package's download through its
  # link, with the peak RSS reset (clear_refs) before the release.
  local uid
  for u in c1 c2; do
    uid=$(curl -sf -H "Authorization: Bearer dev:$u" "$base/users/me" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
    curl -sf -H "$admin" -H 'Content-Type: application/json' \
      -d "{\"user_id\":\"$uid\",\"project_id\":\"$project\",\"role\":\"output_checker\"}" "$base/memberships" >/dev/null
  done
  curl -sf -X POST -H 'Authorization: Bearer dev:r1' "$base/requests/$rid/submit" >/dev/null
  for u in c1 c2; do
    curl -sf -H "Authorization: Bearer dev:$u" -H 'Content-Type: application/json' \
      -d '{"decision":"approved","summary":"bench"}' "$base/requests/$rid/reviews" >/dev/null
  done
  echo 5 >"/proc/$pid/clear_refs"
  local rel link t2 t3
  t0=$(date +%s.%N)
  rel=$(curl -sf -X POST -H "$admin" "$base/requests/$rid/release")
  t1=$(date +%s.%N)
  link=$(echo "$rel" | grep -o '"download_url":"[^"]*"' | cut -d'"' -f4)
  t2=$(date +%s.%N)
  curl -sf -o /dev/null "$base/requests/${link#*/requests/}"
  t3=$(date +%s.%N)
  echo "release of ~1000 MB: $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s; download of the package through its link $(awk -v a="$t2" -v b="$t3" 'BEGIN {printf "%.0f", 1000 / (b - a)}') MB/s; peak RSS since the release began (VmHWM) $(rss_kb "$pid" VmHWM) kB (target < 100 MB)"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done

  # The baseline of POST /requests at its concurrency: the raw driver's
  # single-row commit from 32 writers at once (and from one), same engine.
  local raw32 raw1
  raw32=$(raw_commits "$url" 32 9600)
  raw1=$(raw_commits "$url" 1 5000)
  echo "raw single-row commit (median of 3): 32 writers ${raw32}/s, 1 writer ${raw1}/s"
  echo "POST /requests at 32 connections: ratio to one raw writer $(ratio "$post" "$raw1") (target >= 0.5); to 32 raw writers $(ratio "$post" "$raw32")"
}

run_engine sqlite "sqlite:///$work/bench.db" 18182

PG_FSYNC=on "$here/../tools/pg-throwaway.sh" start "$state" >/dev/null
run_engine postgresql "$(cat "$state/url")" 18183
