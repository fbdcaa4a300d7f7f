#!/usr/bin/env bash
# Runs the benchmarks on SQLite and on a throwaway PostgreSQL (fsync on).
#   tests/bench/run.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=$(mktemp -d /tmp/trevor-bench-pg.XXXXXX)
trap '"$here/../tools/pg-throwaway.sh" stop "$state"; rm -rf "$state"' EXIT
echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$build/tests/bench/sdc_bench" 100 100
"$build/tests/bench/sdc_agent_bench" "sqlite:///scratch.db" 100 5
"$build/tests/bench/audit_append_bench" "sqlite:///scratch.db" 5000 20
"$build/tests/bench/workflow_bench" "sqlite:///scratch.db" 2000
"$build/tests/bench/dashboard_bench" "sqlite:///scratch.db" 100000
"$build/tests/bench/release_bench" "sqlite:///scratch.db" 1024
"$build/tests/bench/audit_tree_bench" "sqlite:///scratch.db" 100000 1000000
PG_FSYNC=on "$here/../tools/pg-throwaway.sh" start "$state" >/dev/null
"$build/tests/bench/sdc_agent_bench" "$(cat "$state/url")" 100 5
"$build/tests/bench/audit_append_bench" "$(cat "$state/url")" 3000 10
"$build/tests/bench/workflow_bench" "$(cat "$state/url")" 1000
"$build/tests/bench/dashboard_bench" "$(cat "$state/url")" 100000
"$build/tests/bench/release_bench" "$(cat "$state/url")" 1024
"$build/tests/bench/audit_tree_bench" "$(cat "$state/url")" 100000 1000000
"$here/http_bench.sh" "$build"
# The Python service trevor replaces, when TREVOR_BENCH_PEER_DIR names it (skipped otherwise).
"$here/peer_bench.sh" "$build"
# The soak (optional, long: MINUTES per engine): TREVOR_BENCH_SOAK=MINUTES.
if [ -n "${TREVOR_BENCH_SOAK:-}" ] && [ "${TREVOR_BENCH_SOAK}" != 0 ]; then
  "$here/soak.sh" "$build" "$TREVOR_BENCH_SOAK"
fi
