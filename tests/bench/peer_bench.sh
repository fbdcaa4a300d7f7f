#!/usr/bin/env bash
# trevord next to the Python service it replaces — the bench peer (FastAPI + SQLModel +
# uvicorn), kept outside this repository — with the peer's own wrk scripts
# (wrk/get_request.lua, wrk/create_request.lua), on SQLite, same machine, same run:
#
#   TREVOR_BENCH_PEER_DIR=/path/to/bench-peer tests/bench/peer_bench.sh BUILD_DIR [SECONDS] [RUNS]
#
# The peer runs as two processes with their own SO_REUSEPORT sockets (its peer_serve.py: the
# balanced two-worker figures of its README), seeded by its seed.py (1000 requests with 2
# objects each); trevord (Release build, 2 threads) is seeded through its HTTP API by the same
# seed.py. Each benchmark: a 3 s warm-up, then RUNS runs of SECONDS (defaults 10 and 3), the
# median printed with the runs and the ratio trevord / peer (target >= 50).
#
# An optional step: exits 0 with a line saying why when TREVOR_BENCH_PEER_DIR is unset or not
# the peer, or when the peer's Debian packages (python3-fastapi, python3-sqlmodel,
# python3-uvicorn, python3-aiosqlite, python3-uvloop, python3-httptools,
# python3-prometheus-client) or wrk are missing.
set -euo pipefail
build=${1:?usage: peer_bench.sh BUILD_DIR [SECONDS] [RUNS]}
secs=${2:-10}
runs=${3:-3}
peer=${TREVOR_BENCH_PEER_DIR:-}
py=/usr/bin/python3 # Debian's interpreter: the peer's packages live there

skip() {
  echo "peer comparison skipped: $*"
  exit 0
}
[ -n "$peer" ] || skip "TREVOR_BENCH_PEER_DIR is not set"
for f in peer_serve.py seed.py wrk/get_request.lua wrk/create_request.lua; do
  [ -f "$peer/$f" ] || skip "$peer/$f not found"
done
command -v wrk >/dev/null || skip "wrk is not installed"
[ -x "$py" ] && "$py" -c 'import fastapi, sqlmodel, uvicorn, aiosqlite, uvloop, httptools, prometheus_client' \
  2>/dev/null || skip "the peer's Python packages are not installed"

trevord="$build/trevord/trevord"
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_scratch trevor-peer-bench

wait_health() {
  local i
  for i in $(seq 1 3000); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/health")" = 200 ] && return 0
    sleep 0.02
  done
  echo "peer_bench: $1 did not answer /health" >&2
  return 1
}
rate() { wrk -t2 -c32 -d"$1" --timeout 10s -s "$2" "$3" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
# "MEDIAN RUN1 RUN2 …" of one benchmark (a warm-up first).
bench() {
  local script=$1 url=$2 all=() i
  rate 3s "$script" "$url" >/dev/null
  for ((i = 0; i < runs; i++)); do all+=("$(rate "${secs}s" "$script" "$url")"); done
  printf '%s\n' "${all[@]}" | sort -n | awk '{v[NR] = $1} END {printf "%s", v[int((NR + 1) / 2)]}'
  printf ' %s' "${all[@]}"
}
# Runs both benchmarks against URL with the ids and token of SEED_DIR; sets get, get_runs, post, post_runs.
measure() {
  local url=$1 seed=$2
  PROJECT_ID=$(. "$seed/seed.env" && echo "$PROJECT_ID")
  TOKEN=$(. "$seed/seed.env" && echo "$TOKEN")
  export PROJECT_ID TOKEN IDS_FILE="$seed/ids-get.txt"
  read -r get get_runs <<<"$(bench "$peer/wrk/get_request.lua" "$url")"
  read -r post post_runs <<<"$(bench "$peer/wrk/create_request.lua" "$url")"
}

echo "== the Python peer ($peer) and trevord on SQLite; wrk 2 threads, 32 connections, ${secs} s per run, median of $runs"

# The peer: its own SQLite database, seeded directly, two SO_REUSEPORT processes.
peer_port=18191
export DATABASE_URL="sqlite+aiosqlite:///$work/peer.db"
"$py" "$peer/seed.py" --out "$work/seed-peer" --base-url "http://127.0.0.1:$peer_port" >/dev/null
(cd "$peer" && exec "$py" peer_serve.py --host 127.0.0.1 --port $peer_port --workers 2 \
  >"$work/peer.log" 2>&1) &
peer_pid=$!
pids+=("$peer_pid")
wait_health "http://127.0.0.1:$peer_port"
measure "http://127.0.0.1:$peer_port" "$work/seed-peer"
peer_get=$get peer_get_runs=$get_runs peer_post=$post peer_post_runs=$post_runs
kill -TERM "$peer_pid"
wait "$peer_pid" 2>/dev/null || true
unset DATABASE_URL

# trevord: a fresh SQLite database, seeded through the API by the same seed.py.
port=18192
DATABASE_URL="sqlite:///$work/trevor.db" TREVOR_ENV=development TREVOR_DEV_AUTH_BYPASS=true \
  TREVOR_PORT=$port TREVOR_THREADS=2 TREVOR_DB_POOL_SIZE=8 TREVOR_STORAGE_DIR="$work/blobs" \
  TREVOR_LOG_LEVEL=warn "$trevord" >"$work/trevord.log" 2>&1 &
pids+=($!)
wait_health "http://127.0.0.1:$port"
"$py" "$peer/seed.py" --via-http "http://127.0.0.1:$port" --sync-body object \
  --out "$work/seed-trevord" >/dev/null
measure "http://127.0.0.1:$port" "$work/seed-trevord"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
echo "GET /requests/{id}   peer ${peer_get}/s [$peer_get_runs]   trevord ${get}/s [$get_runs]   ratio $(ratio "$get" "$peer_get") (target >= 50)"
echo "POST /requests       peer ${peer_post}/s [$peer_post_runs]   trevord ${post}/s [$post_runs]   ratio $(ratio "$post" "$peer_post") (target >= 50)"
