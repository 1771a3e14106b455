#!/bin/sh
# notify_warehouse: simulates a flaky warehouse API that is busy on the first call and answers
# on the next, to show `retry:`. The first call leaves a marker file in the work dir and fails;
# any later attempt ($SPOOL_ATTEMPT 2, 3, ...) finds the marker and succeeds. Deterministic.
# Usage: notify_warehouse.sh ORDER_ID
# Output (last stdout line): {"ticket": "wh_...", "attempt": N}
set -eu
LC_ALL=C; export LC_ALL

if [ "$#" -ne 1 ]; then
    echo "notify_warehouse: usage: notify_warehouse.sh ORDER_ID" >&2
    exit 64
fi
order_id=$1
attempt=${SPOOL_ATTEMPT:-1}
case $attempt in '' | *[!0-9]*) attempt=0 ;; esac
cd "${SPOOL_WORK_DIR:-.}"

marker=.notify_warehouse.busy_once
if [ ! -e "$marker" ]; then
    : > "$marker"
    echo "notify_warehouse: warehouse busy (simulated failure of the first call, attempt $attempt)" >&2
    exit 75
fi

sleep 0.1   # the simulated warehouse API
ticket="wh_$(printf '%s\n%s\n%s\n' warehouse "${SPOOL_PROCESS_ID:-manual}" "$order_id" | cksum | cut -d ' ' -f 1)"
echo "notify_warehouse: warehouse notified on attempt $attempt"
printf '{"ticket": "%s", "attempt": %s}\n' "$ticket" "$attempt"
