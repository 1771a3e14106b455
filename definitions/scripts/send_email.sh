#!/bin/sh
# send_email: simulates the seed's asynchronous welcome e-mail. After a short delay (the mail
# server's latency) it "sends" the message by writing it to welcome_email.txt in the work dir.
# Usage: send_email.sh USER_ID PLAN
# Output (last stdout line): {"file": "welcome_email.txt", "to": "..."}
set -eu
LC_ALL=C; export LC_ALL

# json_str VALUE: VALUE as a JSON string (control characters dropped, \ and " escaped).
json_str() {
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

if [ "$#" -ne 2 ]; then
    echo "send_email: usage: send_email.sh USER_ID PLAN" >&2
    exit 64
fi
user_id=$1
plan=$2
cd "${SPOOL_WORK_DIR:-.}"

sleep 0.3   # the simulated mail server
# Written whole then renamed, so a retried attempt never leaves half a message.
{
    printf 'To: %s\n' "$user_id"
    printf 'Subject: Welcome to premium\n\n'
    printf 'Hello %s, your %s premium subscription is active.\n' "$user_id" "$plan"
    printf 'Process: %s (attempt %s)\n' "${SPOOL_PROCESS_ID:-manual}" "${SPOOL_ATTEMPT:-1}"
} > welcome_email.txt.tmp
mv -f welcome_email.txt.tmp welcome_email.txt

echo "send_email: welcome message written to welcome_email.txt"
printf '{"file": "welcome_email.txt", "to": %s}\n' "$(json_str "$user_id")"
