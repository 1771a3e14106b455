#!/bin/sh
# reserve_stock: simulates the inventory service putting QUANTITY items aside for an order.
# The reservation is a file in the work dir, stock_reservation.txt, which cancel_order releases
# if the order fails later.
# Usage: reserve_stock.sh ORDER_ID QUANTITY
# Output (last stdout line): {"reservation_id": "res_...", "quantity": N}
set -eu
LC_ALL=C; export LC_ALL

if [ "$#" -ne 2 ]; then
    echo "reserve_stock: usage: reserve_stock.sh ORDER_ID QUANTITY" >&2
    exit 64
fi
order_id=$1
quantity=$2
case $quantity in
    '' | *[!0-9]* | 0*) echo "reserve_stock: quantity must be a positive whole number" >&2; exit 2 ;;
esac
cd "${SPOOL_WORK_DIR:-.}"

sleep 0.2   # the simulated inventory service
reservation="res_$(printf '%s\n%s\n%s\n' reserve "${SPOOL_PROCESS_ID:-manual}" "$order_id" | cksum | cut -d ' ' -f 1)"
printf '%s %s\n' "$reservation" "$quantity" > stock_reservation.txt.tmp
mv -f stock_reservation.txt.tmp stock_reservation.txt

echo "reserve_stock: $quantity item(s) reserved"
printf '{"reservation_id": "%s", "quantity": %s}\n' "$reservation" "$quantity"
