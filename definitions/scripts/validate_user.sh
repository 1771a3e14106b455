#!/bin/sh
# validate_user: simulates the user service lookup of the seed's premium subscription
# (a short sleep), and checks the id's shape itself: user_ followed by letters and digits.
# Usage: validate_user.sh USER_ID    (plan from $SPOOL_INPUT_PLAN, monthly when unset)
# Output (last stdout line): {"user_id": "...", "plan": "...", "valid": true}
set -eu
LC_ALL=C; export LC_ALL   # byte-wise character classes below

# json_str VALUE: VALUE as a JSON string (control characters dropped, \ and " escaped).
json_str() {
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

if [ "$#" -ne 1 ]; then
    echo "validate_user: usage: validate_user.sh USER_ID" >&2
    exit 64
fi
user_id=$1
rest=${user_id#user_}   # what follows the user_ prefix, or the whole id if it lacks one
case $rest in
    "$user_id" | '' | *[!A-Za-z0-9]*)
        # The rejected value, printable characters only and cut short, through printf %s
        # (echo would interpret backslashes in it).
        shown=$(printf '%s' "$user_id" | tr -c '[:print:]' '?' | cut -c1-64)
        printf "validate_user: malformed user id '%s': expected user_ followed by letters and digits (e.g. user_123)\n" "$shown" >&2
        exit 2
        ;;
esac

plan=${SPOOL_INPUT_PLAN:-monthly}
case $plan in
    monthly | yearly) ;;
    *) echo "validate_user: unknown plan: expected monthly or yearly" >&2; exit 2 ;;
esac

sleep 0.2   # the simulated lookup (fractional sleep: GNU coreutils and busybox accept it)
printf 'validate_user: %s is valid for the %s plan\n' "$user_id" "$plan"
printf '{"user_id": %s, "plan": %s, "valid": true}\n' "$(json_str "$user_id")" "$(json_str "$plan")"
