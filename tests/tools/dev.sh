#!/usr/bin/env bash
# trevor's developer entry point (the README's two commands use it).
#
#   tests/tools/dev.sh run     install what is missing, build, and run trevord on
#                              an embedded SQLite file (./trevor.db)
#   tests/tools/dev.sh test    install what is missing (PostgreSQL included), build
#                              with AddressSanitizer + UndefinedBehaviorSanitizer,
#                              and run the whole suite on SQLite and on a throwaway
#                              PostgreSQL server that CTest starts and stops itself
#   tests/tools/dev.sh bench   build optimised and run the benchmarks
#   tests/tools/dev.sh deps [test]   only install the Debian packages
#
# Works as root or as a user with sudo, on Debian 12. Build directories:
# build/ (run, bench) and build-test/ (test).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
jobs=${TREVOR_JOBS:-2}

build_packages=(g++ cmake ninja-build ccache libsoci-dev libboost1.81-dev libboost-json1.81-dev
  libboost-url1.81-dev libfmt-dev doctest-dev libssl-dev libsqlite3-dev libpq-dev libzip-dev
  libcsv-dev libmagic-dev libyaml-cpp-dev libcurl4-openssl-dev)
test_packages=(postgresql-15 postgresql-client-15 sqlite3 curl wrk libcpp-jwt-dev clang libclang-rt-14-dev
  jq unzip python3-aiosmtpd)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

deps() {
  local wanted=("${build_packages[@]}")
  [ "${1:-}" = test ] && wanted+=("${test_packages[@]}")
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "dev.sh: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The Debian package starts a cluster of its own on port 5432; the tests do
  # not use it.
}

configure_and_build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

case "${1:-}" in
  deps)
    deps "${2:-}"
    ;;
  run)
    deps
    configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTREVOR_BUILD_TESTS=OFF -DTREVOR_BUILD_BENCH=OFF
    export TREVOR_ENV=${TREVOR_ENV:-development}
    export DATABASE_URL=${DATABASE_URL:-sqlite:///./trevor.db}
    # Development sign-in: the bearer text names the user (trevord/README.md,
    # "Authentication").
    export TREVOR_DEV_AUTH_BYPASS=${TREVOR_DEV_AUTH_BYPASS:-true}
    echo "dev.sh: trevord on $DATABASE_URL, http://${TREVOR_HOST:-127.0.0.1}:${TREVOR_PORT:-8000}/health (Ctrl-C stops it)"
    exec build/trevord/trevord serve
    ;;
  test)
    deps test
    # -O1 with line tables: half the compile time of -O2 -g under the
    # sanitizers, assertions on, and stack traces still name file and line.
    configure_and_build build-test -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" \
      -DTREVOR_SANITIZE=ON -DTREVOR_WERROR=ON -DTREVOR_BUILD_BENCH=ON
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    cd build-test
    ctest --output-on-failure -j "$jobs"
    ;;
  bench)
    deps test
    configure_and_build build -DCMAKE_BUILD_TYPE=Release -DTREVOR_BUILD_BENCH=ON
    tests/bench/run.sh "$root/build"
    ;;
  *)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
