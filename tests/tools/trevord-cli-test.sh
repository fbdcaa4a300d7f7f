#!/usr/bin/env bash
# trevord's command line and start-up, end to end: configuration errors, the
# migrate commands, refusing unknown schemas, serving, readiness and draining.
#
#   trevord-cli-test.sh PATH/TO/trevord
#
# Runs on SQLite files, or on PostgreSQL when TREVOR_TEST_DATABASE_URL names a
# server (each scenario gets a new database there).
set -uo pipefail

trevord=${1:?usage: trevord-cli-test.sh PATH/TO/trevord}
admin_url=${TREVOR_TEST_DATABASE_URL:-}
work=$(mktemp -d /tmp/trevord-cli.XXXXXX)
passed=0
failed=0
created_dbs=()

cleanup() {
  pkill -f "$work/marker" >/dev/null 2>&1 || true
  if [[ $admin_url == postgres* ]]; then
    for db in "${created_dbs[@]}"; do psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && printf '       %s\n' "$2"; }

# expect NAME EXPECTED_EXIT EXPECTED_TEXT -- COMMAND...  (text: a fixed string in stdout+stderr)
expect() {
  local name=$1 want_rc=$2 want_text=$3
  shift 4
  local out rc
  out=$(timeout 30 "$@" 2>&1)
  rc=$?
  if [ "$rc" != "$want_rc" ]; then not_ok "$name" "exit $rc, wanted $want_rc: $out"; return; fi
  if ! grep -qF -- "$want_text" <<<"$out"; then not_ok "$name" "output lacks '$want_text': $out"; return; fi
  ok "$name"
}

# A new, empty database for the engine under test; its URL is left in $db_url.
# Called directly, never in $(...): a failure here stops the whole script
# instead of a subshell, and created_dbs records every database to drop.
new_db() {
  db_url=
  if [[ $admin_url == postgres* ]]; then
    local name="trevor_cli_$(date +%s%N | tail -c 10)_$RANDOM"
    if ! psql -q "$admin_url" -c "CREATE DATABASE $name" >/dev/null; then
      echo "FAIL - cannot create a test database on $admin_url" >&2
      exit 1
    fi
    created_dbs+=("$name")
    db_url="${admin_url%/*}/$name"
  else
    local file="$work/db-$RANDOM-$RANDOM.db"
    : >"$file" || { echo "FAIL - cannot create $file" >&2; exit 1; }  # an empty file is an empty SQLite database
    db_url="sqlite:///$file"
  fi
}

# Runs SQL against a database URL.
sql() {
  local url=$1 statement=$2
  if [[ $url == postgres* ]]; then
    psql -q -X -v ON_ERROR_STOP=1 "$url" -c "$statement" >/dev/null
  else
    sqlite3 "${url#sqlite:///}" "$statement"
  fi
}

free_port() {
  local p
  for p in $(seq 18100 18400); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

# ---------------------------------------------------------------- bad configuration
export TREVOR_ENV=test
expect "malformed DATABASE_URL is one clear line" 1 "trevord: DATABASE_URL: port 'x' is not a number" -- \
  env DATABASE_URL=postgresql://u@h:x/d "$trevord" migrate status
expect "unknown scheme" 1 "unknown scheme 'mysql'" -- env DATABASE_URL=mysql://u@h/d "$trevord" migrate status
expect "unknown TREVOR_ENV" 1 "TREVOR_ENV: unknown environment 'prod'" -- \
  env TREVOR_ENV=prod DATABASE_URL=sqlite:///x.db "$trevord" migrate status
expect "SQLite refused in production" 1 "SQLite is for development and test only" -- \
  env TREVOR_ENV=production DATABASE_URL="sqlite:///$work/p.db" "$trevord"
expect "DATABASE_URL required in staging" 1 "DATABASE_URL is required when TREVOR_ENV=staging" -- \
  env -u DATABASE_URL TREVOR_ENV=staging "$trevord"
expect "dev bypass refused in production" 1 "TREVOR_DEV_AUTH_BYPASS=true is refused when TREVOR_ENV=production" -- \
  env TREVOR_ENV=production TREVOR_DEV_AUTH_BYPASS=true DATABASE_URL=postgresql://u@h/d "$trevord"
expect "serving in production needs signing keys" 1 "TREVOR_JWKS_FILE" -- \
  env TREVOR_ENV=production DATABASE_URL=postgresql://u@h/d "$trevord"
expect "serving in production needs a link secret" 1 "TREVOR_LINK_SECRET: " -- \
  env TREVOR_ENV=production DATABASE_URL=postgresql://u@h/d TREVOR_JWKS_FILE=/nonexistent \
  TREVOR_OIDC_ISSUER=https://idp TREVOR_OIDC_AUDIENCE=trevor "$trevord"
expect "a short link secret is refused, not echoed" 1 "TREVOR_LINK_SECRET: '(hidden)'" -- \
  env TREVOR_LINK_SECRET=short "$trevord"
# Every problem of one start in one run, one line each, "not set" for what is missing.
out=$(env -u DATABASE_URL TREVOR_ENV=production TREVOR_PORT=http TREVOR_LOG_LEVEL=verbose \
  timeout 30 "$trevord" 2>&1)
rc=$?
want="trevord: DATABASE_URL is required when TREVOR_ENV=production
trevord: TREVOR_PORT: 'http' is not a whole number from 0 to 65535
trevord: TREVOR_LOG_LEVEL: 'verbose' is not one of debug, info, warning (or warn), error
trevord: TREVOR_JWKS_FILE: not set; set it or TREVOR_JWKS_URL (without the identity provider's keys nobody can sign in)
trevord: TREVOR_LINK_SECRET: not set; set it to at least 32 bytes, the same on every daemon (download and upload links are signed with it)
trevord: TREVOR_AUDIT_SIGNING_KEY: not set; set it to the file of the audit trail's signer key (\`trevord audit keygen\` writes one); without it no checkpoint is signed"
if [ "$rc" = 1 ] && [ "$out" = "$want" ]; then
  ok "production: every missing or invalid setting reported in one run"
else
  not_ok "production: every missing or invalid setting reported in one run" "exit $rc: $out"
fi
expect "TREVOR_LOG_LEVEL=WARN is accepted" 0 "schema is current" -- \
  env TREVOR_LOG_LEVEL=WARN DATABASE_URL="sqlite:///:memory:" "$trevord" migrate up
expect "a JWKS needs the issuer" 1 "TREVOR_OIDC_ISSUER" -- \
  env TREVOR_JWKS_FILE=/nonexistent "$trevord"
expect "bad TREVOR_PORT" 1 "TREVOR_PORT: '70000' is not a whole number from 0 to 65535" -- \
  env DATABASE_URL="sqlite:///$work/p.db" TREVOR_PORT=70000 "$trevord"
expect "unreachable PostgreSQL fails fast" 1 "cannot connect to postgresql://u:***@127.0.0.1:1/d" -- \
  env DATABASE_URL="postgresql://u:secret@127.0.0.1:1/d?connect_timeout=3" "$trevord" migrate status
expect "unknown command" 2 "unknown command 'frobnicate'" -- "$trevord" frobnicate
expect "unknown migrate command" 2 "unknown migrate command 'sideways'" -- \
  env DATABASE_URL="sqlite:///$work/p.db" "$trevord" migrate sideways
if [[ $admin_url == postgres* ]]; then
  wrong=$(sed -E 's#(://[^:]+:)[^@]+@#\1wrong-password@#' <<<"$admin_url")
  expect "wrong password is named, not echoed" 1 "password authentication failed" -- \
    env DATABASE_URL="$wrong" "$trevord" migrate status
fi

# ---------------------------------------------------------------- migrate commands
# The commands that only read never create a database: a mistyped SQLite path
# (in an existing directory, where SQLite would create the file) is an error.
for cmd in status verify plan; do
  missing="$work/typo-$cmd.db"
  expect "$cmd on a missing SQLite file names it" 1 "no database at $missing" -- \
    env DATABASE_URL="sqlite:///$missing" "$trevord" migrate "$cmd"
  if [ -e "$missing" ]; then
    not_ok "$cmd on a missing SQLite file creates nothing" "$(ls -la "$work")"
  else
    ok "$cmd on a missing SQLite file creates nothing"
  fi
done
expect "up creates a missing SQLite file" 0 "applied 0001_initial" -- \
  env DATABASE_URL="sqlite:///$work/typo-status.db" "$trevord" migrate up
[ -s "$work/typo-status.db" ] && ok "up created the SQLite file" || not_ok "up created the SQLite file"

new_db
url=$db_url
[ -n "$url" ] || { echo "FAIL - new_db left no URL"; exit 1; }
expect "verify on an empty database says no migrations are applied" 1 "no migrations applied" -- \
  env DATABASE_URL="$url" "$trevord" migrate verify
expect "status on an empty database lists pending and exits 1" 1 "pending  0001_initial" -- \
  env DATABASE_URL="$url" "$trevord" migrate status
expect "plan prints the SQL" 0 "CREATE TABLE audit_events" -- env DATABASE_URL="$url" "$trevord" migrate plan
expect "up applies" 0 "applied 0001_initial" -- env DATABASE_URL="$url" "$trevord" migrate up
expect "up again is a no-op" 0 "(0 migration(s) applied now)" -- env DATABASE_URL="$url" "$trevord" migrate up
expect "status is current" 0 "schema is current" -- env DATABASE_URL="$url" "$trevord" migrate status
expect "verify passes" 0 "verified" -- env DATABASE_URL="$url" "$trevord" migrate verify
expect "plan says there is nothing to apply when current" 0 "nothing to apply" -- \
  env DATABASE_URL="$url" "$trevord" migrate plan
plan_out=$(env DATABASE_URL="$url" "$trevord" migrate plan 2>&1)
if [[ $plan_out == *"CREATE "* || $plan_out == *"-- migration"* ]]; then
  not_ok "plan prints no SQL when current" "$plan_out"
else
  ok "plan prints no SQL when current"
fi

new_db
drifted=$db_url
env DATABASE_URL="$drifted" "$trevord" migrate up >/dev/null
sql "$drifted" "UPDATE schema_migrations SET checksum = 'deadbeef' WHERE id = 1"
expect "verify names a drifted migration" 1 "migration 0001_initial differs: checksum deadbeef in the database" -- \
  env DATABASE_URL="$drifted" "$trevord" migrate verify
expect "serve refuses a drifted schema" 1 "0001_initial differs" -- \
  env DATABASE_URL="$drifted" TREVOR_AUTO_MIGRATE=false TREVOR_PORT="$(free_port)" "$trevord"
expect "auto-migrate refuses a drifted schema too" 1 "0001_initial differs" -- \
  env DATABASE_URL="$drifted" TREVOR_AUTO_MIGRATE=true TREVOR_PORT="$(free_port)" "$trevord"

new_db
newer=$db_url
env DATABASE_URL="$newer" "$trevord" migrate up >/dev/null
sql "$newer" "INSERT INTO schema_migrations (id, name, checksum, duration_ms) VALUES (42, 'from_the_future', 'x', 0)"
expect "status names a migration from a newer trevor" 1 "0042_from_the_future that this build does not know" -- \
  env DATABASE_URL="$newer" "$trevord" migrate status
expect "serve refuses a newer schema" 1 "0042_from_the_future" -- \
  env DATABASE_URL="$newer" TREVOR_PORT="$(free_port)" "$trevord"

# ---------------------------------------------------------------- serving
serve_and_probe() {
  local name=$1 url=$2 auto=$3 want_ready=$4 want_text=$5
  local port log pid code body
  port=$(free_port)
  log="$work/serve-$port.log"
  env DATABASE_URL="$url" TREVOR_PORT="$port" TREVOR_AUTO_MIGRATE="$auto" TREVOR_THREADS=2 \
    bash -c 'exec -a "$0" "$@"' "$work/marker" "$trevord" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.05
  done
  body=$(curl -s "http://127.0.0.1:$port/health")
  [[ $body == *'"status":"ok"'* ]] && ok "$name: /health answers" || not_ok "$name: /health answers" "$body $(cat "$log")"
  code=$(curl -s -o "$work/ready" -w '%{http_code}' "http://127.0.0.1:$port/readyz")
  if [ "$code" = "$want_ready" ] && grep -qF -- "$want_text" "$work/ready"; then
    ok "$name: /readyz is $want_ready"
  else
    not_ok "$name: /readyz is $want_ready" "got $code: $(cat "$work/ready")"
  fi
  code=$(curl -s -o "$work/nf" -w '%{http_code}' "http://127.0.0.1:$port/no/such/route")
  [ "$code" = 404 ] && grep -q '"detail":"no route for GET /no/such/route"' "$work/nf" &&
    ok "$name: unknown route is a 404 problem" || not_ok "$name: unknown route is a 404 problem" "$code $(cat "$work/nf")"
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  if [ "$rc" = 0 ] && grep -q '"msg":"draining","reason":"SIGTERM"' "$log" && grep -q '"msg":"stopped"' "$log"; then
    ok "$name: SIGTERM drains and exits 0"
  else
    not_ok "$name: SIGTERM drains and exits 0" "exit $rc: $(cat "$log")"
  fi
  grep '"msg":"request"' "$log" | grep '"method":"GET","route":"/health","status":200' |
    grep -q '"request_id":"[0-9a-f-]\{36\}".*"duration_us":[0-9]*,"actor":"-"' &&
    ok "$name: one JSON log line per request" || not_ok "$name: one JSON log line per request" "$(cat "$log")"
}

new_db
serve_and_probe "auto-migrating daemon" "$db_url" true 200 '"status":"ready"'
new_db
serve_and_probe "daemon on an out-of-date schema" "$db_url" false 503 "migration(s) pending"

# ---------------------------------------------------------------- audit trail
# keygen and public-key; a daemon seals and signs (checkpoints appended to a
# file); verify passes; a release package's audit-proof.json verifies offline;
# the database owner rewrites an event → verify names the leaf; one byte of the
# proof changed → verify-proof refuses it.
akey="$work/audit.key"
pub=$(env TREVOR_AUDIT_ORIGIN=trevor.cli/audit "$trevord" audit keygen --out "$akey" 2>"$work/keygen.err")
if [[ $pub == trevor.cli/audit+* ]] && [ "$(stat -c %a "$akey")" = 600 ] && grep -q '^PRIVATE+KEY+trevor.cli/audit+' "$akey"; then
  ok "audit keygen writes a 0600 signer key and prints the verifier key"
else
  not_ok "audit keygen writes a 0600 signer key and prints the verifier key" "$pub $(cat "$work/keygen.err") $(ls -l "$akey")"
fi
expect "audit keygen never overwrites a key" 1 "never overwritten" -- "$trevord" audit keygen --out "$akey"
expect "audit public-key prints the verifier key" 0 "$pub" -- \
  env TREVOR_AUDIT_SIGNING_KEY="$akey" "$trevord" audit public-key
expect "audit public-key needs the key" 1 "TREVOR_AUDIT_SIGNING_KEY: not set" -- \
  env -u TREVOR_AUDIT_SIGNING_KEY "$trevord" audit public-key
expect "a bad TREVOR_AUDIT_SIGNING_KEY is refused at start" 1 "TREVOR_AUDIT_SIGNING_KEY: '$work/keygen.err' is not a file holding a signer key" -- \
  env TREVOR_AUDIT_SIGNING_KEY="$work/keygen.err" DATABASE_URL="sqlite:///$work/p.db" "$trevord"

new_db
aurl=$db_url
cps="$work/checkpoints.txt"
port=$(free_port)
alog="$work/audit-serve.log"
env DATABASE_URL="$aurl" TREVOR_PORT="$port" TREVOR_THREADS=2 TREVOR_DEV_AUTH_BYPASS=true \
  TREVOR_AUDIT_SIGNING_KEY="$akey" TREVOR_AUDIT_ORIGIN=trevor.cli/audit TREVOR_AUDIT_CHECKPOINT_FILE="$cps" \
  bash -c 'exec -a "$0" "$@"' "$work/marker" "$trevord" >"$alog" 2>&1 &
apid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.05
done
base="http://127.0.0.1:$port"
api() {  # api METHOD PATH TOKEN [JSON]
  local args=(-s -X "$1" -H "Authorization: Bearer $3")
  [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data "$4")
  curl "${args[@]}" "$base$2"
}
project=$(cat /proc/sys/kernel/random/uuid)
api POST /admin/projects/sync dev:admin:tre_admin \
  "{\"projects\":[{\"id\":\"$project\",\"name\":\"cli\",\"display_name\":\"CLI\"}]}" >/dev/null
for who in r1:researcher c1:output_checker c2:output_checker; do
  uid=$(api GET /users/me "dev:${who%%:*}" | jq -r .id)
  api POST /memberships dev:admin:tre_admin \
    "{\"user_id\":\"$uid\",\"project_id\":\"$project\",\"role\":\"${who#*:}\"}" >/dev/null
done
rid=$(api POST /requests dev:r1 "{\"project_id\":\"$project\",\"direction\":\"egress\",\"title\":\"CLI\"}" | jq -r .id)
printf 'a,b\n1,2\n' >"$work/t.csv"
curl -s -H "Authorization: Bearer dev:r1" -F output_type=tabular -F statbarn=frequency \
  -F "file=@$work/t.csv" "$base/requests/$rid/objects" >/dev/null
api POST "/requests/$rid/submit" dev:r1 >/dev/null
for who in c1 c2; do
  api POST "/requests/$rid/reviews" "dev:$who" '{"decision":"approved","summary":"ok"}' >/dev/null
done
link=$(api POST "/requests/$rid/release" dev:admin:tre_admin | jq -r .download_url)
curl -s -o "$work/package.zip" "$link"
unzip -p "$work/package.zip" audit-proof.json >"$work/audit-proof.json" 2>/dev/null
for _ in $(seq 1 60); do
  grep -q '"msg":"audit.checkpoint"' "$alog" && [ -s "$cps" ] && break
  sleep 0.1
done
code=$(curl -s -o "$work/cp" -w '%{http_code}' -H "Authorization: Bearer dev:r1" "$base/audit/checkpoint")
if [ "$code" = 200 ] && head -1 "$work/cp" | grep -qx 'trevor.cli/audit' && grep -q '"msg":"audit.checkpoint"' "$alog" &&
  grep -q '^trevor.cli/audit$' "$cps"; then
  ok "the daemon seals, signs, logs audit.checkpoint and appends to TREVOR_AUDIT_CHECKPOINT_FILE"
else
  not_ok "the daemon seals, signs, logs audit.checkpoint and appends to TREVOR_AUDIT_CHECKPOINT_FILE" "$code $(cat "$work/cp") $(tail -5 "$alog")"
fi
grep -q '^trevord_audit_checkpoints_signed_total [1-9]' <(curl -s "$base/metrics") &&
  ok "the audit metrics count the checkpoints" || not_ok "the audit metrics count the checkpoints" "$(curl -s "$base/metrics" | grep audit)"
kill -TERM "$apid"
wait "$apid" || true

expect "audit verify passes with the public key and the checkpoint file" 0 "audit trail verified" -- \
  env DATABASE_URL="$aurl" "$trevord" audit verify --key "$pub" --checkpoint "$cps"
echo "$pub" >"$work/audit.pub"
expect "audit verify takes the key from a file" 0 "audit trail verified" -- \
  env DATABASE_URL="$aurl" "$trevord" audit verify --key "@$work/audit.pub"
expect "audit verify refuses another key" 1 "checkpoint" -- \
  env DATABASE_URL="$aurl" "$trevord" audit verify \
  --key "$(env TREVOR_AUDIT_ORIGIN=trevor.cli/audit "$trevord" audit keygen --out "$work/other.key" 2>/dev/null)"
expect "audit verify-proof checks a package's audit-proof.json offline" 0 "verified: $work/audit-proof.json" -- \
  "$trevord" audit verify-proof --key "$pub" "$work/audit-proof.json"
# One byte changed anywhere in the proof (a letter of an event's bytes).
sed 's/request\.approved/request.Approved/' "$work/audit-proof.json" >"$work/audit-proof-tampered.json"
if cmp -s "$work/audit-proof.json" "$work/audit-proof-tampered.json"; then
  not_ok "the proof was tampered with" "no request.approved in $(head -c 300 "$work/audit-proof.json")"
fi
expect "audit verify-proof refuses a proof with one byte changed" 1 "audit-proof-tampered.json" -- \
  "$trevord" audit verify-proof --key "$pub" "$work/audit-proof-tampered.json"

# The database owner rewrites the first event's payload.
if [[ $aurl == postgres* ]]; then
  sql "$aurl" "SET session_replication_role = replica; UPDATE audit_events SET payload = '{\"forged\": true}' WHERE seq = (SELECT min(seq) FROM audit_events)"
else
  sql "$aurl" "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET payload = '{\"forged\": true}' WHERE seq = (SELECT min(seq) FROM audit_events)"
fi
expect "audit verify names the leaf whose event the owner rewrote" 1 "leaf 0" -- \
  env DATABASE_URL="$aurl" "$trevord" audit verify --key "$pub" --checkpoint "$cps"
# ---------------------------------------------------------------- the SDC policy and `sdc check`
# A policy file with an unknown key or a wrong type refuses the start, one
# line naming the variable, the file and the key.
printf 'threshold: 10\nthreshhold: 5\n' >"$work/typo.yaml"
printf '{"zeros_are_disclosive": "yes"}' >"$work/wrong.json"
expect "a policy file with an unknown key refuses the start" 1 \
  "trevord: TREVOR_SDC_POLICY: $work/typo.yaml: sdc policy: 'threshhold'" -- \
  env DATABASE_URL="sqlite:///$work/p.db" TREVOR_AGENT_REVIEW=builtin TREVOR_SDC_POLICY="$work/typo.yaml" "$trevord"
expect "a policy file with a wrong type refuses the start" 1 "'zeros_are_disclosive'" -- \
  env DATABASE_URL="sqlite:///$work/p.db" TREVOR_SDC_POLICY="$work/wrong.json" "$trevord"
expect "TREVOR_AGENT_REVIEW names its values" 1 "off, external or builtin" -- \
  env DATABASE_URL="sqlite:///$work/p.db" TREVOR_AGENT_REVIEW=inhouse "$trevord"

printf 'sex,count\nfemale,30\nmale,25\n' >"$work/safe.csv"
printf 'sex,count\nfemale,3\nmale,25\n' >"$work/small.csv"
printf 'sex,mean_income\nfemale,30000\nmale,31000\n' >"$work/means.csv"
printf 'threshold: 2\n' >"$work/lenient.yaml"
printf 'sex,count\nfemale,30\n' >"$work/extract.sav"
why=(--justification "Table 1 of the paper")
expect "sdc check: a safe table is approved (exit 0)" 0 '"recommendation":"approved"' -- \
  env -u TREVOR_SDC_POLICY "$trevord" sdc check "$work/safe.csv" --statbarn Frequencies "${why[@]}"
expect "sdc check: a small cell is a critical fail (exit 1)" 1 '"check":"minimum_threshold","status":"fail"' -- \
  env -u TREVOR_SDC_POLICY "$trevord" sdc check "$work/small.csv" --statbarn Frequencies "${why[@]}"
expect "sdc check: the cell is named" 1 '"cells":[{"row":1,"column":"count"}]' -- \
  env -u TREVOR_SDC_POLICY "$trevord" sdc check "$work/small.csv" --statbarn Frequencies "${why[@]}"
expect "sdc check: --policy applies the file's threshold" 0 '"threshold":2' -- \
  "$trevord" sdc check "$work/small.csv" --statbarn Frequencies --policy "$work/lenient.yaml" "${why[@]}"
expect "sdc check: a magnitude table without evidence needs a human (exit 2)" 2 '"check":"evidence_present","status":"review"' -- \
  env -u TREVOR_SDC_POLICY "$trevord" sdc check "$work/means.csv" --statbarn LinearAggregations "${why[@]}"
expect "sdc check: no justification is a warning (exit 2)" 2 '"check":"justification_present","status":"fail"' -- \
  env -u TREVOR_SDC_POLICY "$trevord" sdc check "$work/safe.csv" --statbarn Frequencies
expect "sdc check: a blocked extension is critical (exit 1)" 1 '"check":"extension_allowed","status":"fail"' -- \
  env -u TREVOR_SDC_POLICY "$trevord" sdc check "$work/extract.sav" --statbarn Frequencies "${why[@]}"
expect "sdc check: --statbarn is required (exit 64)" 64 "--statbarn is required" -- \
  "$trevord" sdc check "$work/safe.csv"
expect "sdc check: an unknown output type (exit 64)" 64 "--output-type" -- \
  "$trevord" sdc check "$work/safe.csv" --statbarn Frequencies --output-type spreadsheet
expect "sdc check: a missing file could not be checked (exit 3)" 3 "$work/none.csv" -- \
  "$trevord" sdc check "$work/none.csv" --statbarn Frequencies
expect "sdc check: a bad policy file could not be checked (exit 3)" 3 "threshhold" -- \
  "$trevord" sdc check "$work/safe.csv" --statbarn Frequencies --policy "$work/typo.yaml"

# ---------------------------------------------------------------- storage check
# An orphan blob and an interrupted upload, two hours old, are listed, then
# removed with --remove; a file a row refers to is never touched; a row whose
# file is gone makes the check fail.
new_db
surl=$db_url
store="$work/store"
env DATABASE_URL="$surl" "$trevord" migrate up >/dev/null
mkdir -p "$store/p/r"
printf 'lost' >"$store/p/r/orphan.bin"
printf 'half' >"$store/p/r/.tmp-interrupted"
touch -d '2 hours ago' "$store/p/r/orphan.bin" "$store/p/r/.tmp-interrupted"
expect "storage check lists an orphan and an interrupted upload" 0 "orphan p/r/orphan.bin" -- \
  env DATABASE_URL="$surl" TREVOR_STORAGE_DIR="$store" "$trevord" storage check
[ -f "$store/p/r/orphan.bin" ] && ok "storage check without --remove removes nothing" ||
  not_ok "storage check without --remove removes nothing" "orphan.bin is gone"
expect "storage check --remove removes them" 0 "1 orphans and 1 temporary files (8 bytes) removed" -- \
  env DATABASE_URL="$surl" TREVOR_STORAGE_DIR="$store" "$trevord" storage check --remove
[ ! -e "$store/p/r/orphan.bin" ] && [ ! -e "$store/p/r/.tmp-interrupted" ] &&
  ok "the orphan and the interrupted upload are gone" ||
  not_ok "the orphan and the interrupted upload are gone" "$(ls -la "$store/p/r")"
expect "storage check names its usage" 2 "usage: trevord storage check" -- \
  env DATABASE_URL="$surl" TREVOR_STORAGE_DIR="$store" "$trevord" storage check --everything

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
