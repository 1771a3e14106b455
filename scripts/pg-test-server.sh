#!/usr/bin/env bash
# A throwaway PostgreSQL server for trying or benchmarking the PostgreSQL store on one machine.
#
# Usage: scripts/pg-test-server.sh start [DIR]   initdb + start on 127.0.0.1 and a free port; prints the URL
#        scripts/pg-test-server.sh url [DIR]     prints the URL of the running server
#        scripts/pg-test-server.sh stop [DIR]    stops it (immediate) and removes DIR
# DIR defaults to /tmp/spoolrunner-pg. As root the server runs as the `postgres` user (initdb and
# postgres refuse root). fsync and synchronous_commit stay on: durable settings, as shipped.
# PG_EXTRA_OPTIONS adds server options at start (scripts/bench-fleet.py loads pg_stat_statements).
# The Swift tests do not need this script: they start their own cluster (Tests/SpoolStorePostgresTests).
set -euo pipefail
command=${1:-}
dir=${2:-/tmp/spoolrunner-pg}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "no initdb under /usr/lib/postgresql/*/bin: apt-get install postgresql" >&2; exit 69; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
url() { echo "postgres://spoolrunner@127.0.0.1:$(cat "$dir/port")/spoolrunner?sslmode=disable"; }

case "$command" in
start)
    [ -e "$dir" ] && { echo "$dir exists: stop the server there first (or pass another DIR)" >&2; exit 73; }
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_owner "$bin/initdb" -A trust -U spoolrunner -E UTF8 --no-instructions -D "$dir/data" >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/pg_ctl" -w -D "$dir/data" -l "$dir/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c synchronous_commit=on ${PG_EXTRA_OPTIONS:-}" start >/dev/null
    echo "$port" | as_owner tee "$dir/port" >/dev/null
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U spoolrunner spoolrunner
    url
    ;;
url) url ;;
stop)
    [ -d "$dir/data" ] || { echo "no server in $dir" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|url|stop [DIR]" >&2
    exit 64
    ;;
esac
