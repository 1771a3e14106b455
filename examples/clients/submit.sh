#!/bin/sh
# Submit a request to a spoolrunner spool and wait for its end (POSIX sh, coreutils and jq).
# Usage: submit.sh SPOOL PROCESS_TYPE [NAME=VALUE ...]
# Prints "<process_id> <status>" and exits 0 only on success, like `spoolrunner submit --wait`.
set -eu
spool=$1 type=$2
shift 2
# The id is the idempotency key: keep it to resubmit the same request safely.
id="proc_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"

# jq builds the JSON from --arg values: no value is ever pasted into JSON text.
request=$(jq -cn --arg type "$type" '{process_type: $type}')
for pair in "$@"; do
    request=$(printf '%s' "$request" | jq -c --arg name "${pair%%=*}" --arg value "${pair#*=}" '.[$name] = $value')
done

# Maildir protocol: write and fsync under tmp/, then rename(2) into inbox/ in one step.
temp="$spool/tmp/$id.json.$$"
printf '%s\n' "$request" > "$temp"
sync "$temp"
mv "$temp" "$spool/inbox/$id.json"

while :; do
    status=$(jq -r .status "$spool/outbox/$id.json" 2>/dev/null || true)
    case $status in
        success) echo "$id $status"; exit 0 ;;
        failed|cancelled|rejected) echo "$id $status"; exit 1 ;;
    esac
    sleep 0.2
done
