#!/usr/bin/env bash
# Requests/s of spoolrunner-http's `GET /process/<id>/status` with 32 concurrent clients (wrk,
# keep-alive connections, on loopback), against a finished seed process on a temporary spool with a
# runner running. Bounded: RUNS runs of DURATION each.
#   BIN=.build/release RUNS=3 DURATION=10s CLIENTS=32 scripts/http-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CLIENTS=${CLIENTS:-32}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
dir=$(mktemp -d /tmp/spoolrunner-http-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
mkdir -p "$dir/spool"
"$BIN/spoolrunner" serve --spool "$dir/spool" --definitions definitions 2>"$dir/runner.log" & pids+=($!)
"$BIN/spoolrunner-http" --listen 127.0.0.1:0 --spool "$dir/spool" --definitions definitions --log-level warning 2>"$dir/http.log" & pids+=($!)
# --log-level warning hides the "listening" notice: wait for the socket via /proc instead.
for _ in $(seq 100); do
    port=$(ss -ltnpH 2>/dev/null | awk -v pid="${pids[1]}" '$0 ~ "pid="pid"," {split($4, a, ":"); print a[length(a)]}' | head -1)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "${port:-}" ] || { echo "spoolrunner-http did not listen" >&2; cat "$dir/http.log" >&2; exit 1; }
base="http://127.0.0.1:$port"
id=$(curl -fsS -X POST "$base/api/process/" -H 'Content-Type: application/json' \
    -d '{"process_type": "premium_subscription", "user_id": "user_123"}' | sed -E 's/.*"process_id":"([^"]+)".*/\1/')
for _ in $(seq 200); do
    curl -fsS "$base/process/$id/status" | grep -q '"status": "success"' && break
    sleep 0.1
done
curl -fsS "$base/process/$id/status" | grep -q '"status": "success"' || { echo "the seed process did not succeed" >&2; exit 1; }
echo "GET /process/$id/status, $CLIENTS connections, $DURATION x $RUNS ($(git rev-parse --short HEAD))"
for run in $(seq "$RUNS"); do
    wrk -t2 -c"$CLIENTS" -d"$DURATION" --latency "$base/process/$id/status" | grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors' | tr -s ' ' | sed "s/^/run $run:/"
done
rss=$(awk '/VmHWM/ {print $2 " " $3}' "/proc/${pids[1]}/status")
echo "spoolrunner-http peak RSS: $rss"
