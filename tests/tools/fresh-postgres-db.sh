#!/usr/bin/env bash
# Runs COMMAND with the URL of a new, empty database on the PostgreSQL server
# that TREVOR_TEST_DATABASE_URL names, as its last argument: programs that use
# the database's public schema (the examples) then never meet each other's
# rows when CTest runs them at once. The throwaway server goes with its data.
#
#   fresh-postgres-db.sh COMMAND [ARGS...]
set -euo pipefail
base=${TREVOR_TEST_DATABASE_URL:?fresh-postgres-db: TREVOR_TEST_DATABASE_URL is not set}
db="trevor_run_$$_$RANDOM"
psql -qX -v ON_ERROR_STOP=1 "$base" -c "CREATE DATABASE $db" >/dev/null
exec "$@" "${base%/*}/$db"
