#!/usr/bin/env bash
# trevord under load, next to a bare Boost.Beast server in the same run
# (wrk, 2 threads, 32 connections), on SQLite and on a throwaway PostgreSQL
# (fsync on); plus start-to-ready, idle RSS, peak RSS across a 500 MB
# upload (raw and multipart), and across the release of those objects (about
# 1 GB) and the download of its package.
#
#   tests/bench/http_bench.sh BUILD_DIR [SECONDS]     (a Release build)
set -euo pipefail
build=${1:?usage: http_bench.sh BUILD_DIR [SECONDS]}
secs=${2:-10}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools="$build/tests/bench/http_tools"
trevord="$build/trevord/trevord"
work=$(mktemp -d /tmp/trevor-http-bench.XXXXXX)
state="$work/pg"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$here/../tools/pg-throwaway.sh" stop "$state" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

rate() { wrk -t2 -c32 -d"${secs}s" "$@" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
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

  local bare_health health get post
  bare_health=$(rate "http://127.0.0.1:$bare_port/health")
  health=$(rate "$base/health")
  get=$(TOKEN=dev:r1 rate -s "$here/get_request.lua" "$base/requests/$rid")
  post=$(TOKEN=dev:r1 PROJECT=$project rate -s "$here/post_request.lua" "$base/requests")
  echo "GET /health            bare Beast ${bare_health}/s   trevord ${health}/s   ratio $(ratio "$health" "$bare_health")"
  echo "GET /requests/{id}     ${get}/s   ratio to bare /health $(ratio "$get" "$bare_health") (target >= 0.4)"
  echo "POST /requests         ${post}/s"
  echo "POST_RATE_$engine=$post" >>"$work/rates"
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
}

run_engine sqlite "sqlite:///$work/bench.db" 18182
raw=$("$build/tests/bench/audit_append_bench" "sqlite:///$work/raw.db" 5000 1 |
  awk '/one event per transaction/ {for (i = 1; i <= NF; i++) if ($i == "raw") {sub("/s", "", $(i+1)); print $(i+1)}}')
post=$(grep POST_RATE_sqlite "$work/rates" | cut -d= -f2)
echo "SQLite raw single-row commit (same run): ${raw}/s; POST /requests ratio $(ratio "$post" "$raw") (target >= 0.3)"

PG_FSYNC=on "$here/../tools/pg-throwaway.sh" start "$state" >/dev/null
run_engine postgresql "$(cat "$state/url")" 18183
