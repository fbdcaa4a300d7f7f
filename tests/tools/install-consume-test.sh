#!/usr/bin/env bash
# Installs the build into a scratch prefix and builds examples/ against it
# with find_package(trevor), then runs the example.
#   install-consume-test.sh BUILD_DIR EXAMPLES_DIR [EXTRA_LINKER_FLAGS]
set -euo pipefail
build=$1 examples=$2 flags=${3:-}
scratch=$(mktemp -d /tmp/trevor-consume.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
cmake -S "$examples" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
cmake --build "$scratch/build" >/dev/null
"$scratch/build/embedded_sqlite" | tail -1
"$scratch/build/airlock_workflow" | sed -n 1p
