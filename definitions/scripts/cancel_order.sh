#!/bin/sh
# cancel_order: the on_failure task of order_fulfillment. It undoes what the failed order had
# already done, as found in the work dir: releases the stock reservation and refunds a charge.
# Safe to run when nothing was done (it then only records the cancellation).
# Usage: cancel_order.sh ORDER_ID
# Output (last stdout line): {"released_stock": true|false, "refunded": true|false}
set -eu
LC_ALL=C; export LC_ALL

if [ "$#" -ne 1 ]; then
    echo "cancel_order: usage: cancel_order.sh ORDER_ID" >&2
    exit 64
fi
order_id=$1
cd "${SPOOL_WORK_DIR:-.}"

released=false
if [ -f stock_reservation.txt ]; then
    mv -f stock_reservation.txt stock_reservation.released.txt
    released=true
fi
refunded=false
if [ -f payments.log ]; then
    mv -f payments.log payments.refunded.log
    refunded=true
fi
printf 'order %s cancelled: released_stock=%s refunded=%s\n' "$order_id" "$released" "$refunded" > cancellation.txt

echo "cancel_order: order cancelled"
printf '{"released_stock": %s, "refunded": %s}\n' "$released" "$refunded"
