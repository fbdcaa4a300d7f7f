#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UBSan, a scratch
# build of the library) and runs each from its seed corpus for a bounded
# time; a crash, a leak, undefined behaviour or an exception escaping a
# target fails. New inputs go to a scratch copy of the corpus, never to the
# repository's seeds; a crashing input is kept in $TREVOR_FUZZ_ARTIFACTS
# (default /tmp/trevor-fuzz-artifacts) to reproduce with the target.
#   fuzz-smoke.sh SOURCE_DIR [SECONDS_PER_TARGET]
set -euo pipefail
src=$(cd "$1" && pwd)
secs=${2:-${TREVOR_FUZZ_SECONDS:-20}}
artifacts=${TREVOR_FUZZ_ARTIFACTS:-/tmp/trevor-fuzz-artifacts}
scratch=$(mktemp -d /tmp/trevor-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
command -v clang++ >/dev/null || { echo "fuzz-smoke: clang++ is not installed"; exit 1; }
cmake -S "$src" -B "$scratch/build" -G Ninja -DCMAKE_BUILD_TYPE=None "-DCMAKE_CXX_FLAGS=-O1 -gline-tables-only" \
  -DCMAKE_CXX_COMPILER=clang++ -DTREVOR_FUZZ=ON -DTREVOR_BUILD_TESTS=OFF -DTREVOR_BUILD_BENCH=OFF \
  -DTREVOR_BUILD_EXAMPLES=OFF -DTREVOR_BUILD_DAEMON=OFF -DTREVOR_INSTALL=OFF >/dev/null
cmake --build "$scratch/build" -j "${TREVOR_JOBS:-2}" --target fuzz_library fuzz_multipart fuzz_jwt \
  >/dev/null
mkdir -p "$artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for target in library multipart jwt; do
  mkdir -p "$scratch/corpus/$target"
  cp "$src/tests/fuzz/corpus/$target/"* "$scratch/corpus/$target/"
  if ! "$scratch/build/tests/fuzz/fuzz_$target" -max_total_time="$secs" -max_len=65536 \
      -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/$target-" \
      "$scratch/corpus/$target" >"$scratch/$target.log" 2>&1; then
    tail -40 "$scratch/$target.log"
    echo "fuzz_$target: failed (inputs kept in $artifacts)"
    exit 1
  fi
  echo "fuzz_$target: $(grep -o 'Done [0-9]* runs' "$scratch/$target.log" | tail -1) in ${secs} s, no finding"
done
