#!/usr/bin/env bash
# Five `trevord migrate up` processes at once on one empty database: all must
# exit 0 and each migration must be applied exactly once.
#   concurrent-migrate-test.sh PATH/TO/trevord
# On PostgreSQL when TREVOR_TEST_DATABASE_URL names a server (a new database
# is created there), else on a new SQLite file.
set -uo pipefail
trevord=${1:?usage: concurrent-migrate-test.sh PATH/TO/trevord}
admin_url=${TREVOR_TEST_DATABASE_URL:-}
name="trevor_concurrent_$RANDOM$RANDOM"
work=$(mktemp -d /tmp/trevor-migrate.XXXXXX)
if [[ $admin_url == postgres* ]]; then
  trap 'psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1; rm -rf "$work"' EXIT
  psql -q "$admin_url" -c "CREATE DATABASE $name" >/dev/null || exit 1
  url="${admin_url%/*}/$name"
  count_rows() { psql -qtA "$url" -c "SELECT count(*) || ' ' || count(DISTINCT id) FROM schema_migrations"; }
else
  trap 'rm -rf "$work"' EXIT
  : >"$work/concurrent.db"  # an empty database: `migrate status` never creates one
  url="sqlite:///$work/concurrent.db"
  count_rows() { sqlite3 "$work/concurrent.db" "SELECT count(*) || ' ' || count(DISTINCT id) FROM schema_migrations"; }
fi

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
rows=$(count_rows)
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
