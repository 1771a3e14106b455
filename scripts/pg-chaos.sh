#!/usr/bin/env bash
# The fleet chaos test of issue 13, bigger than `swift test` runs it: three `spoolrunner serve
# --store` runners on a throwaway PostgreSQL (the test's own), REQUESTS requests dropped round-robin
# into their inboxes while KILLS kills hit them (the leader, a runner right after a drop, one left
# down three leases, one without a PID namespace so that its tasks are orphaned), a poison request,
# a schedule at 60x; then every check of the test (Tests/SpoolStorePostgresTests/FleetChaosTests.swift).
#
# Usage: scripts/pg-chaos.sh [REQUESTS] [KILLS]      (defaults: 3000 30)
# Prints per kill the time until its processes started again, per leader kill the time to the
# next leader, and one summary line: requests, kills, lost, duplicated, non-idempotent reruns
# (all three must be 0; the run fails otherwise). Needs PostgreSQL binaries (`apt-get install
# postgresql`); as root the runners run in PID namespaces (`unshare`), as containers would.
set -euo pipefail
requests=${1:-3000}
kills=${2:-30}
cd "$(dirname "$0")/.."
swift build --build-tests >/dev/null
log=$(mktemp /tmp/pg-chaos.XXXXXX.log)
status=0
FLEET_CHAOS_REQUESTS=$requests FLEET_CHAOS_KILLS=$kills SPOOLRUNNER_REQUIRE_ALL=1 \
    swift test --skip-build --filter FleetChaosTests >"$log" 2>&1 || status=$?
grep -E '^fleet chaos|✘|✔ Test' "$log" || true
summary=$(grep '^fleet chaos summary:' "$log" || true)
if [ -z "$summary" ]; then
    echo "pg-chaos: no summary (the test stopped early); full output in $log" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "pg-chaos: FAILED (full output in $log)" >&2
    exit "$status"
fi
echo "pg-chaos: passed ($requests requests, $kills kills); full output in $log"
