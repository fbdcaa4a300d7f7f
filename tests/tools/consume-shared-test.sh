#!/usr/bin/env bash
# The shared form of libtrevor, consumed both ways a program can take it in:
#  1. add_subdirectory(): tests/consumer builds the library with
#     BUILD_SHARED_LIBS=ON inside a superproject, with the examples; both run.
#  2. find_package(): that build is installed into a scratch prefix and the
#     examples are built against the installed package and run again.
# Between the two it checks the shared object's dynamic symbol table: every
# symbol of the public API (namespace trevor, outside trevor::detail) that
# the library defines is exported, and nothing of trevor::detail is.
#   consume-shared-test.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
scratch=$(mktemp -d /tmp/trevor-shared.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
jobs=${TREVOR_JOBS:-2}

# 1. add_subdirectory, shared
cmake -S "$src/tests/consumer" -B "$scratch/sub" -G Ninja -DCMAKE_BUILD_TYPE=None \
  -DTREVOR_SOURCE_DIR="$src" -DBUILD_SHARED_LIBS=ON -DTREVOR_INSTALL=ON >/dev/null
cmake --build "$scratch/sub" -j "$jobs" >/dev/null
lib=$(find "$scratch/sub/trevor/libtrevor" -maxdepth 1 -name 'libtrevor.so.*.*' | head -1)
[ -n "$lib" ] || { echo "no libtrevor.so.* was built"; exit 1; }
# (grep reads all of ldd's output: with -q it would stop early and pipefail
# would see ldd's SIGPIPE)
ldd "$scratch/sub/examples/embedded_sqlite" | grep 'libtrevor\.so' >/dev/null ||
  { echo "embedded_sqlite is not linked to the shared libtrevor"; exit 1; }
"$scratch/sub/examples/embedded_sqlite" "sqlite:///:memory:" | tail -1
"$scratch/sub/examples/airlock_workflow" "sqlite:///:memory:" | sed -n 1p

# Exported: defined, dynamic, demangled. Defined in the objects: every
# external definition. Template instantiations and inline functions (weak, W/V)
# are the headers' business and are left out of the comparison.
nm -D --defined-only -C "$lib" | awk '$2 ~ /^[TDBR]$/' | cut -d' ' -f3- | sort -u >"$scratch/exported"
find "$scratch/sub/trevor/libtrevor/CMakeFiles/trevor_objects.dir" -name '*.o' -print0 |
  xargs -0 nm --defined-only -C | awk '$2 ~ /^[TDBR]$/' | cut -d' ' -f3- | sort -u >"$scratch/defined"
leaked=$(grep -E '^(trevor::detail::|.*\(anonymous namespace\))' "$scratch/exported" || true)
if [ -n "$leaked" ]; then
  echo "internal symbols exported from $(basename "$lib"):"
  echo "$leaked" | head -20
  exit 1
fi
missing=$(grep -E '^trevor::' "$scratch/defined" | grep -vE '^trevor::detail::|\(anonymous namespace\)' |
  grep -vxF -f "$scratch/exported" || true)
if [ -n "$missing" ]; then
  echo "public symbols not exported (mark them TREVOR_EXPORT):"
  echo "$missing" | head -40
  exit 1
fi
echo "exports: $(grep -c '^trevor::' "$scratch/exported") public symbols, no trevor::detail"

# 2. find_package, shared
cmake --install "$scratch/sub" --prefix "$scratch/prefix" >/dev/null
cmake -S "$src/examples" -B "$scratch/pkg" -G Ninja -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/pkg" -j "$jobs" >/dev/null
ldd "$scratch/pkg/embedded_sqlite" | grep "$scratch/prefix/.*libtrevor\.so" >/dev/null ||
  { echo "the installed example is not linked to the installed shared libtrevor"; exit 1; }
"$scratch/pkg/embedded_sqlite" "sqlite:///:memory:" | tail -1
"$scratch/pkg/airlock_workflow" "sqlite:///:memory:" | sed -n 1p
