# Sourced by the benchmark scripts (http_bench.sh, soak.sh, peer_bench.sh).
#
# bench_scratch PREFIX — a scratch directory $work (/tmp/PREFIX.XXXXXX) and
# $state (a throwaway PostgreSQL's directory inside it, if one is started);
# on exit the processes whose pids the script appends to the array $pids are
# stopped and waited for, the server is stopped, and $work is removed.
bench_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

bench_scratch() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  state="$work/pg"
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$bench_lib_dir/../tools/pg-throwaway.sh" stop "$state" >/dev/null 2>&1 || true
  rm -rf "$work"
}
