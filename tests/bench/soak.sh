#!/usr/bin/env bash
# Soak: MINUTES (default 10) of mixed load on one trevord per engine, its
# resident memory sampled every 10 s. The load, five wrk processes at once
# (scripts in tests/bench/soak/):
#   reads      GET /requests/{id} and its objects, 4 connections, no pause
#   creates    POST /requests, 1 connection, 20 ms apart
#   workflow   2 × one connection: create, upload 16 KiB, submit, two approvals, 10 ms apart
#   dashboards the administrator's overview, metrics, checkers, projects, audit page,
#              request list and unread count in turn, 1 connection, 200 ms apart
# Writes SOAK_OUT/soak-<engine>.csv (seconds,rss_kb) and the wrk and daemon
# logs beside it, and prints per engine: RSS at start, at the end and its
# maximum, the slope (least squares, kB per minute) over the whole run and
# over its second half, errors (non-2xx answers and socket errors) and
# throughput.
#
#   tests/bench/soak.sh BUILD_DIR [MINUTES] [ENGINES]
#   ENGINES: "sqlite postgresql" (default), or one of them
#   SOAK_OUT: where the CSVs and logs go (default a new directory under /tmp, kept)
set -euo pipefail
build=${1:?usage: soak.sh BUILD_DIR [MINUTES] [ENGINES]}
minutes=${2:-10}
engines=${3:-sqlite postgresql}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
trevord="$build/trevord/trevord"
[ -x "$trevord" ] || { echo "soak: no $trevord (build the trevord target)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "soak: wrk is not installed" >&2; exit 1; }
out=${SOAK_OUT:-$(mktemp -d /tmp/trevor-soak.XXXXXX)}
mkdir -p "$out"
# shellcheck source=lib.sh
. "$here/lib.sh"
bench_scratch trevor-soak-work

secs=$((minutes * 60))
rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
json_id() { grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "soak: $minutes min per engine; CSVs and logs in $out"

run_engine() {
  local engine=$1 url=$2 port=$3
  local base="http://127.0.0.1:$port"
  DATABASE_URL=$url TREVOR_ENV=development TREVOR_DEV_AUTH_BYPASS=true TREVOR_PORT=$port \
    TREVOR_THREADS=2 TREVOR_DB_POOL_SIZE=8 TREVOR_STORAGE_DIR="$work/blobs-$engine" \
    TREVOR_LOG_LEVEL=warning "$trevord" serve >"$out/trevord-$engine.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local i
  for i in $(seq 300); do
    curl -sf "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "$base/readyz" >/dev/null || { echo "soak: trevord did not become ready" >&2; exit 1; }

  local admin="Authorization: Bearer dev:admin:tre_admin"
  local project=0190f5c2-0000-7000-8000-00000000500a
  curl -sf -H "$admin" -H 'Content-Type: application/json' \
    -d "{\"projects\":[{\"id\":\"$project\",\"name\":\"soak\"}]}" "$base/admin/projects/sync" >/dev/null
  local u uid role
  for u in r1 c1 c2; do
    role=output_checker
    [ "$u" = r1 ] && role=researcher
    uid=$(curl -sf -H "Authorization: Bearer dev:$u" "$base/users/me" | json_id)
    curl -sf -H "$admin" -H 'Content-Type: application/json' \
      -d "{\"user_id\":\"$uid\",\"project_id\":\"$project\",\"role\":\"$role\"}" "$base/memberships" >/dev/null
  done
  local rid
  rid=$(curl -sf -H 'Authorization: Bearer dev:r1' -H 'Content-Type: application/json' \
    -d "{\"project_id\":\"$project\",\"direction\":\"egress\",\"title\":\"read me\"}" "$base/requests" | json_id)
  curl -sf -H 'Authorization: Bearer dev:r1' -H 'Content-Type: application/octet-stream' \
    --data-binary 'a,b' "$base/requests/$rid/objects?filename=t.csv&output_type=tabular" >/dev/null

  local csv="$out/soak-$engine.csv" d="${secs}s" wrks=()
  echo "seconds,rss_kb" >"$csv"
  echo "0,$(rss_kb "$pid")" >>"$csv"
  REQUEST=$rid wrk -t1 -c4 -d"$d" --timeout 10s -s "$here/soak/read.lua" "$base" >"$out/wrk-$engine-read.log" 2>&1 &
  wrks+=($!)
  PROJECT=$project wrk -t1 -c1 -d"$d" --timeout 10s -s "$here/soak/create.lua" "$base/requests" >"$out/wrk-$engine-create.log" 2>&1 &
  wrks+=($!)
  for i in 1 2; do
    PROJECT=$project wrk -t1 -c1 -d"$d" --timeout 10s -s "$here/soak/workflow.lua" "$base" >"$out/wrk-$engine-workflow$i.log" 2>&1 &
    wrks+=($!)
  done
  wrk -t1 -c1 -d"$d" --timeout 10s -s "$here/soak/dashboard.lua" "$base" >"$out/wrk-$engine-dashboard.log" 2>&1 &
  wrks+=($!)
  pids+=("${wrks[@]}")
  local t0 now
  t0=$(date +%s)
  for ((i = 1; i <= secs / 10; i++)); do
    now=$(date +%s)
    sleep $((t0 + i * 10 - now > 0 ? t0 + i * 10 - now : 0))
    kill -0 "$pid" 2>/dev/null || { echo "soak: trevord ($engine) died" >&2; exit 1; }
    echo "$((i * 10)),$(rss_kb "$pid")" >>"$csv"
  done
  for p in "${wrks[@]}"; do wait "$p" || true; done
  curl -sf "$base/health" >/dev/null || { echo "soak: trevord ($engine) stopped answering" >&2; exit 1; }

  # wrk's figures: requests, non-2xx answers, socket errors.
  local requests=0 errors=0 n name
  local per=""
  for f in "$out"/wrk-"$engine"-*.log; do
    n=$(awk '/requests in/ {print $1}' "$f")
    name=$(basename "$f" .log)
    name=${name#wrk-"$engine"-}
    requests=$((requests + ${n:-0}))
    errors=$((errors + $(awk '/Non-2xx/ {s += $NF} /Socket errors/ {gsub(",", ""); s += $4 + $6 + $8 + $10} END {print s + 0}' "$f")))
    per="$per $name $(awk -v n="${n:-0}" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')/s"
  done
  echo "== $engine ($minutes min)"
  awk -F, -v m="$minutes" '
    NR > 1 { t[++n] = $1 / 60; r[n] = $2; if ($2 > max) max = $2 }
    function slope(from,   i, k, sx, sy, sxx, sxy) {
      k = 0; sx = sy = sxx = sxy = 0
      for (i = from; i <= n; i++) { k++; sx += t[i]; sy += r[i]; sxx += t[i] * t[i]; sxy += t[i] * r[i] }
      return (k * sxx - sx * sx) == 0 ? 0 : (k * sxy - sx * sy) / (k * sxx - sx * sx)
    }
    END {
      printf "RSS: start %.1f MB, end %.1f MB, max %.1f MB; slope %+.0f kB/min over the run, %+.0f kB/min over its second half (%d samples)\n",
        r[1] / 1024, r[n] / 1024, max / 1024, slope(1), slope(int(n / 2) + 1), n
    }' "$csv"
  echo "requests: $requests in ${secs} s ($((requests / secs))/s:$per); errors: $errors"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

for engine in $engines; do
  case $engine in
    sqlite) run_engine sqlite "sqlite:///$work/soak.db" 18191 ;;
    postgresql)
      PG_FSYNC=on "$here/../tools/pg-throwaway.sh" start "$state" >/dev/null
      run_engine postgresql "$(cat "$state/url")" 18192
      "$here/../tools/pg-throwaway.sh" stop "$state" >/dev/null
      ;;
    *) echo "soak: unknown engine $engine" >&2; exit 2 ;;
  esac
done
