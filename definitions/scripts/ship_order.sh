#!/bin/sh
# ship_order: simulates handing the packed parcel to the courier. It needs the packing slip
# that pack_order wrote in the work dir, and answers with a tracking number.
# Usage: ship_order.sh ORDER_ID
# Output (last stdout line): {"tracking_number": "trk_...", "order_id": "..."}
set -eu
LC_ALL=C; export LC_ALL

# json_str VALUE: VALUE as a JSON string (control characters dropped, \ and " escaped).
json_str() {
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

if [ "$#" -ne 1 ]; then
    echo "ship_order: usage: ship_order.sh ORDER_ID" >&2
    exit 64
fi
order_id=$1
cd "${SPOOL_WORK_DIR:-.}"
if [ ! -f packing_slip.txt ]; then
    echo "ship_order: no packing_slip.txt in the work dir: nothing has been packed" >&2
    exit 1
fi

sleep 0.2   # the simulated courier booking
tracking="trk_$(printf '%s\n%s\n%s\n' ship "${SPOOL_PROCESS_ID:-manual}" "$order_id" | cksum | cut -d ' ' -f 1)"
printf '%s\n' "$tracking" > shipment.txt

echo "ship_order: parcel handed to the courier"
printf '{"tracking_number": "%s", "order_id": %s}\n' "$tracking" "$(json_str "$order_id")"
