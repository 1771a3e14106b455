#!/usr/bin/env bash
# The database-side ceiling of a fleet on this machine (issue 13, target P1): pgbench replays what
# runners do to the PostgreSQL store for processes of the seed's shape (3 tasks), with no task
# spawning, no status files and no runner CPU. Its numbers are what P1 compares itself against.
#
# Usage: scripts/pg-ceiling.sh [URL]
#   URL: a PostgreSQL database to use (its spoolrunner tables get a throwaway schema `ceiling`);
#        without one, a throwaway server is started with scripts/pg-test-server.sh and stopped.
# Env:   SECONDS_PER_RUN (default 20), CONNECTIONS (default "3 6"), BATCHES (default "1 25"),
#        SPOOLRUNNER (the binary, default .build/release/spoolrunner, then .build/debug/spoolrunner).
#
# Per process, in 8 transactions as the runners commit them (each with the fencing predicate, each
# change with its events row): intake (process, 3 tasks, accepted event), the SKIP LOCKED claim,
# 3 task starts, 2 task ends, and the last task end with the process end and a pg_notify. A batch of
# K processes makes the same 8 transactions carry K processes each (group commit).
# Prints one line per variant: batch, connections, transactions/s, processes/s.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SECONDS_PER_RUN:-20}
connections=${CONNECTIONS:-3 6}
batches=${BATCHES:-1 25}
binary=${SPOOLRUNNER:-}
if [ -z "$binary" ]; then
    for candidate in .build/release/spoolrunner .build/debug/spoolrunner; do
        [ -x "$candidate" ] && { binary=$candidate; break; }
    done
fi
[ -x "${binary:-}" ] || { echo "no spoolrunner binary: swift build (or set SPOOLRUNNER)" >&2; exit 69; }
command -v pgbench >/dev/null || { echo "pgbench missing: apt-get install postgresql-contrib (Debian: postgresql-client)" >&2; exit 69; }

work=$(mktemp -d)
server=""
cleanup() {
    [ -n "$server" ] && scripts/pg-test-server.sh stop "$server" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
if [ $# -ge 1 ]; then
    url=$1
else
    # Outside $work: as root the server runs as `postgres`, which cannot enter a 0700 mktemp dir.
    server=$(mktemp -u /tmp/spoolrunner-pg-ceiling.XXXXXX)
    url=$(scripts/pg-test-server.sh start "$server")
fi
# The store's own schema, in a schema of its own so nothing else in the database is touched.
case "$url" in *\?*) schema_url="$url&schema=ceiling" ;; *) schema_url="$url?schema=ceiling" ;; esac
"$binary" migrate --store "$schema_url" >/dev/null
# libpq takes the same URL without the parameters it does not know.
conninfo=$(sed -E 's/([?&])schema=[^&]*&?/\1/; s/[?&]$//' <<<"$url")
export PGOPTIONS="-c search_path=ceiling -c client_min_messages=warning"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$conninfo" "$@"; }
psql <<'SQL'
DROP SEQUENCE IF EXISTS ceiling_batch;
CREATE SEQUENCE ceiling_batch;
INSERT INTO runners (runner_id, machine_id, boot_id, hostname, spool, pid, version, started_at, heartbeat_at,
                     expires_at, state, max_tasks)
VALUES ('ceiling', 'm', 'b', 'localhost', '/spool', 1, 'pgbench', now(), now(), now() + interval '1 day', 'alive', 8)
ON CONFLICT (runner_id) DO NOTHING;
SQL

cat >"$work/process.sql" <<'SQL'
SELECT nextval('ceiling_batch') AS b \gset
BEGIN;
INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at, updated_at,
                       request_sha256, definition_sha256)
SELECT 'b' || :b || '-' || i, 'seed', 'pending', '{}', '{"process_type":"seed"}', now(), now(),
       sha256(convert_to('{"process_type":"seed"}', 'UTF8')), '\x00'
  FROM generate_series(1, :k) AS i;
INSERT INTO tasks (process_id, task_name, position, mode, status)
SELECT 'b' || :b || '-' || i, 't' || t, t, 'sync', 'pending' FROM generate_series(1, :k) AS i, generate_series(0, 2) AS t;
INSERT INTO subscriptions (runner_id, process_id) SELECT 'ceiling', 'b' || :b || '-' || i FROM generate_series(1, :k) AS i;
INSERT INTO events (process_id, event, at, runner_id) SELECT 'b' || :b || '-' || i, 'accepted', now(), 'ceiling' FROM generate_series(1, :k) AS i;
COMMIT;
BEGIN;
WITH c AS MATERIALIZED (
  SELECT process_id FROM processes
   WHERE owner_runner IS NULL AND status IN ('pending', 'running')
     AND process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i)
   ORDER BY created_at, process_id LIMIT :k FOR UPDATE SKIP LOCKED)
UPDATE processes p SET owner_runner = 'ceiling', lease_epoch = p.lease_epoch + 1, updated_at = now()
  FROM c WHERE p.process_id = c.process_id;
COMMIT;
BEGIN;
SELECT 1 FROM processes WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND owner_runner = 'ceiling' AND lease_epoch = 1
   AND EXISTS (SELECT 1 FROM runners WHERE runner_id = 'ceiling' AND state = 'alive') ORDER BY process_id FOR UPDATE;
UPDATE processes SET status = 'running', started_at = now(), updated_at = now() WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i);
UPDATE tasks SET status = 'running', attempts = 1, started_at = now(), pid = 4242, runner_id = 'ceiling'
 WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND task_name = 't0';
INSERT INTO events (process_id, task_name, event, at, runner_id)
SELECT 'b' || :b || '-' || i, 't0', 'task_started', now(), 'ceiling' FROM generate_series(1, :k) AS i;
COMMIT;
BEGIN;
SELECT 1 FROM processes WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND owner_runner = 'ceiling' AND lease_epoch = 1 ORDER BY process_id FOR UPDATE;
UPDATE tasks SET status = 'success', ended_at = now(), exit_code = 0 WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND task_name = 't0';
INSERT INTO events (process_id, task_name, event, at, runner_id)
SELECT 'b' || :b || '-' || i, 't0', 'task_succeeded', now(), 'ceiling' FROM generate_series(1, :k) AS i;
COMMIT;
BEGIN;
SELECT 1 FROM processes WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND owner_runner = 'ceiling' AND lease_epoch = 1 ORDER BY process_id FOR UPDATE;
UPDATE tasks SET status = 'running', attempts = 1, started_at = now() WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND task_name = 't1';
INSERT INTO events (process_id, task_name, event, at, runner_id)
SELECT 'b' || :b || '-' || i, 't1', 'task_started', now(), 'ceiling' FROM generate_series(1, :k) AS i;
COMMIT;
BEGIN;
SELECT 1 FROM processes WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND owner_runner = 'ceiling' AND lease_epoch = 1 ORDER BY process_id FOR UPDATE;
UPDATE tasks SET status = 'success', ended_at = now(), exit_code = 0 WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND task_name = 't1';
INSERT INTO events (process_id, task_name, event, at, runner_id)
SELECT 'b' || :b || '-' || i, 't1', 'task_succeeded', now(), 'ceiling' FROM generate_series(1, :k) AS i;
COMMIT;
BEGIN;
SELECT 1 FROM processes WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND owner_runner = 'ceiling' AND lease_epoch = 1 ORDER BY process_id FOR UPDATE;
UPDATE tasks SET status = 'running', attempts = 1, started_at = now() WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND task_name = 't2';
INSERT INTO events (process_id, task_name, event, at, runner_id)
SELECT 'b' || :b || '-' || i, 't2', 'task_started', now(), 'ceiling' FROM generate_series(1, :k) AS i;
COMMIT;
BEGIN;
SELECT 1 FROM processes WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND owner_runner = 'ceiling' AND lease_epoch = 1 ORDER BY process_id FOR UPDATE;
UPDATE tasks SET status = 'success', ended_at = now(), exit_code = 0 WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i) AND task_name = 't2';
INSERT INTO events (process_id, task_name, event, at, runner_id)
SELECT 'b' || :b || '-' || i, 't2', 'task_succeeded', now(), 'ceiling' FROM generate_series(1, :k) AS i;
UPDATE processes SET status = 'success', ended_at = now(), updated_at = now(), owner_runner = NULL
 WHERE process_id IN (SELECT 'b' || :b || '-' || i FROM generate_series(1, :k) AS i);
INSERT INTO events (process_id, event, at, runner_id)
SELECT 'b' || :b || '-' || i, 'process_succeeded', now(), 'ceiling' FROM generate_series(1, :k) AS i;
SELECT pg_notify('spoolrunner_work', '');
COMMIT;
SQL

printf '%-8s %-12s %-16s %s\n' batch connections transactions/s processes/s
for k in $batches; do
    for c in $connections; do
        out=$(pgbench -n -M prepared -c "$c" -j "$c" -T "$seconds" -D k="$k" -f "$work/process.sql" "$conninfo" 2>&1) || {
            echo "$out" >&2
            exit 1
        }
        # One script run = one batch = 8 transactions.
        tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' <<<"$out" | tail -1)
        printf '%-8s %-12s %-16s %s\n' "$k" "$c" "$(awk -v t="$tps" 'BEGIN { printf "%.0f", t * 8 }')" \
            "$(awk -v t="$tps" -v k="$k" 'BEGIN { printf "%.0f", t * k }')"
    done
done
