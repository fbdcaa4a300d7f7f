#!/usr/bin/env bash
# Five `trevord migrate up` processes at once on one empty PostgreSQL
# database: all must exit 0 and each migration must be applied exactly once.
#   concurrent-migrate-test.sh PATH/TO/trevord   (TREVOR_TEST_DATABASE_URL: the server)
set -uo pipefail
trevord=${1:?usage: concurrent-migrate-test.sh PATH/TO/trevord}
admin_url=${TREVOR_TEST_DATABASE_URL:?TREVOR_TEST_DATABASE_URL must name a PostgreSQL server}
name="trevor_concurrent_$RANDOM$RANDOM"
work=$(mktemp -d /tmp/trevor-migrate.XXXXXX)
trap 'psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1; rm -rf "$work"' EXIT
psql -q "$admin_url" -c "CREATE DATABASE $name" >/dev/null || exit 1
url="${admin_url%/*}/$name"

known=$(env TREVOR_ENV=test DATABASE_URL="$url" "$trevord" migrate status | grep -c '^pending ')
pids=()
for i in 1 2 3 4 5; do
  env TREVOR_ENV=test DATABASE_URL="$url" "$trevord" migrate up >"$work/out.$i" 2>&1 &
  pids+=($!)
done
failed=0
passed=0
for i in 1 2 3 4 5; do
  if wait "${pids[$((i - 1))]}"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "process $i failed: $(cat "$work/out.$i")"; fi
done
rows=$(psql -qtA "$url" -c "SELECT count(*) || ' ' || count(DISTINCT id) FROM schema_migrations")
applied_lines=$(cat "$work"/out.* | grep -c '^applied ')
echo "migrations known: $known; rows: $rows; 'applied' lines over all processes: $applied_lines"
if [ "$rows" = "$known $known" ] && [ "$applied_lines" = "$known" ] && [ "$known" -ge 1 ]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL: each migration must be applied exactly once"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
