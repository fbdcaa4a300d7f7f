#!/usr/bin/env bash
# Runs a program as a test: it passes only when it exits 0, reports nothing
# to a sanitizer, and its standard output ends with a line matching REGEX
# (extended regular expression) — or, with --anywhere, has such a line.
#
#   expect-output.sh [--anywhere] REGEX COMMAND [ARGS...]
#
# (CTest's PASS_REGULAR_EXPRESSION ignores the exit status, so an error after
# the expected line would pass.)
set -uo pipefail
where=last
if [ "${1:-}" = --anywhere ]; then
  where=anywhere
  shift
fi
regex=${1:?usage: expect-output.sh [--anywhere] REGEX COMMAND [ARGS...]}
shift
[ $# -gt 0 ] || { echo "usage: expect-output.sh [--anywhere] REGEX COMMAND [ARGS...]" >&2; exit 2; }
work=$(mktemp -d /tmp/trevor-expect.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$@" >"$work/out" 2>"$work/err"
rc=$?
cat "$work/out"
cat "$work/err" >&2
fail() {
  echo "expect-output: FAIL: $*" >&2
  exit 1
}
[ "$rc" -eq 0 ] || fail "exit status $rc"
if grep -qE 'runtime error:|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer' "$work/err"; then
  fail "a sanitizer reported an error"
fi
if [ "$where" = last ]; then
  last=$(tail -n 1 "$work/out")
  grep -qE -- "$regex" <<<"$last" || fail "the last line of output, '$last', does not match '$regex'"
else
  grep -qE -- "$regex" "$work/out" || fail "no line of output matches '$regex'"
fi
