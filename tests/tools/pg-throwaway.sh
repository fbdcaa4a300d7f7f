#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for the test suite and benchmarks.
#
#   pg-throwaway.sh start STATE_DIR   start a fresh cluster; writes STATE_DIR/url
#   pg-throwaway.sh stop STATE_DIR    stop it and delete its data
#   pg-throwaway.sh pause STATE_DIR   stop the server, keeping its data (an outage)
#   pg-throwaway.sh resume STATE_DIR  start it again on the same port
#
# The cluster lives in a new directory under /tmp, listens on 127.0.0.1 only,
# on the first free port from 55432 up, and requires a password over TCP (the
# superuser's password contains URL-special characters on purpose, so every run
# exercises DATABASE_URL percent-decoding). initdb refuses to run as root, so
# as root the server runs as the `postgres` OS user.
#
# Environment: PG_FSYNC=on keeps durability (the benchmarks use it); the
# default turns fsync off because tests throw the data away. PG_PORT_FROM
# (default 55432) is the first port tried: a test that pauses its own server
# starts it in a range of its own, so no other server takes the port meanwhile.
set -euo pipefail

cmd=${1:?usage: pg-throwaway.sh start|stop STATE_DIR}
state=${2:?usage: pg-throwaway.sh start|stop STATE_DIR}

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] || { echo "pg-throwaway: no PostgreSQL server installed (apt-get install postgresql-15)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  [ -f "$state/datadir" ] || return 0
  local data
  data=$(cat "$state/datadir")
  if [ -d "$data/data" ]; then
    as_pg "$pgbin/pg_ctl" -D "$data/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$data"
  rm -f "$state/datadir" "$state/url"
}

case "$cmd" in
  start)
    mkdir -p "$state"
    stop
    data=$(mktemp -d /tmp/trevor-pg.XXXXXX)
    echo "$data" > "$state/datadir"
    [ "$(id -u)" = 0 ] && chown postgres: "$data"
    password='p@ss:w/rd%!'
    encoded='p%40ss%3Aw%2Frd%25%21'
    printf '%s\n' "$password" > "$data/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres: "$data/pwfile"
    as_pg "$pgbin/initdb" -D "$data/data" -U postgres --pwfile="$data/pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$data/initdb.log" 2>&1 ||
      { cat "$data/initdb.log" >&2; exit 1; }
    fsync=${PG_FSYNC:-off}
    # The first port nothing answers on; if the server still cannot listen
    # there (another process took it between the probe and the bind), the next.
    from=${PG_PORT_FROM:-55432}
    port=""
    attempts=0
    for p in $(seq "$from" $((from + 200))); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then continue; fi
      attempts=$((attempts + 1))
      rm -f "$data/server.log"
      if as_pg "$pgbin/pg_ctl" -D "$data/data" -l "$data/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $p -c unix_socket_directories=$data -c fsync=$fsync -c full_page_writes=$fsync -c max_connections=200" \
        start >"$data/pg_ctl.log" 2>&1; then
        port=$p
        break
      fi
      echo "pg-throwaway: the server did not start on port $p:" >&2
      cat "$data/pg_ctl.log" "$data/server.log" >&2 || true
      grep -q "could not bind\|could not create any TCP/IP sockets\|Address already in use" "$data/server.log" 2>/dev/null || exit 1
      [ "$attempts" -lt 5 ] || exit 1
    done
    [ -n "$port" ] || { echo "pg-throwaway: no free port in $from-$((from + 200))" >&2; exit 1; }
    echo "$port" > "$data/port"
    echo "$fsync" > "$data/fsync"
    url="postgresql://postgres:${encoded}@127.0.0.1:${port}/postgres"
    echo "$url" > "$state/url"
    echo "$url"
    ;;
  stop)
    stop
    ;;
  pause)
    data=$(cat "$state/datadir")
    as_pg "$pgbin/pg_ctl" -D "$data/data" -m fast -w stop >/dev/null
    ;;
  resume)
    data=$(cat "$state/datadir")
    port=$(cat "$data/port")
    fsync=$(cat "$data/fsync")
    as_pg "$pgbin/pg_ctl" -D "$data/data" -l "$data/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$data -c fsync=$fsync -c full_page_writes=$fsync -c max_connections=200" \
      start >/dev/null || { cat "$data/server.log" >&2; exit 1; }
    ;;
  *)
    echo "usage: pg-throwaway.sh start|stop|pause|resume STATE_DIR" >&2
    exit 2
    ;;
esac
