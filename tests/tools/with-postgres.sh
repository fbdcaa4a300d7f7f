#!/usr/bin/env bash
# Runs a command with TREVOR_TEST_DATABASE_URL set to the throwaway server
# that `pg-throwaway.sh start STATE_DIR` started.
#   with-postgres.sh STATE_DIR COMMAND [ARGS...]
set -euo pipefail
state=${1:?usage: with-postgres.sh STATE_DIR COMMAND...}
shift
[ -f "$state/url" ] || { echo "with-postgres: no server running (no $state/url)" >&2; exit 1; }
TREVOR_TEST_DATABASE_URL=$(cat "$state/url")
export TREVOR_TEST_DATABASE_URL
exec "$@"
