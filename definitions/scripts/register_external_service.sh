#!/bin/sh
# register_external_service: simulates the seed's call to an external service (about 0.5 s of
# latency) that registers the user's premium plan and answers with a registration id.
# The id is derived from the process id and the user, so a repeated call (a retry, or a rerun
# after a crash) gets the same answer: the task is idempotent.
# Usage: register_external_service.sh USER_ID PLAN
# Output (last stdout line): {"registration_id": "reg_...", "plan": "..."}
set -eu
LC_ALL=C; export LC_ALL

# json_str VALUE: VALUE as a JSON string (control characters dropped, \ and " escaped).
json_str() {
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

if [ "$#" -ne 2 ]; then
    echo "register_external_service: usage: register_external_service.sh USER_ID PLAN" >&2
    exit 64
fi
user_id=$1
plan=$2

sleep 0.5   # the simulated remote call
checksum=$(printf '%s\n%s\n' "${SPOOL_PROCESS_ID:-manual}" "$user_id" | cksum | cut -d ' ' -f 1)
printf 'register_external_service: registered the %s plan\n' "$plan"
printf '{"registration_id": "reg_%s", "plan": %s}\n' "$checksum" "$(json_str "$plan")"
