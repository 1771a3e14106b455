#!/bin/sh
# charge_payment: simulates a card payment of QUANTITY items at 19.99 each. Charging twice
# would bill the customer twice, so the definition marks this task `idempotent: false` and
# gives it no retry: if the runner dies mid-charge, the task fails with `interrupted` instead
# of charging again. FAIL_AT=payment (from the fail_at input) makes the card be declined, to
# try the definition's on_failure path.
# Usage: FAIL_AT=none|payment charge_payment.sh ORDER_ID QUANTITY
# Output (last stdout line): {"payment_id": "pay_...", "amount_cents": N}
set -eu
LC_ALL=C; export LC_ALL

if [ "$#" -ne 2 ]; then
    echo "charge_payment: usage: charge_payment.sh ORDER_ID QUANTITY" >&2
    exit 64
fi
order_id=$1
quantity=$2
# Checked before arithmetic: $((...)) must never see anything but digits.
case $quantity in
    '' | *[!0-9]* | 0*) echo "charge_payment: quantity must be a positive whole number" >&2; exit 2 ;;
esac
[ "${#quantity}" -le 6 ] || { echo "charge_payment: quantity too large" >&2; exit 2; }
cd "${SPOOL_WORK_DIR:-.}"

sleep 0.3   # the simulated payment gateway
if [ "${FAIL_AT:-none}" = payment ]; then
    echo "charge_payment: card declined (forced by fail_at=payment)" >&2
    exit 1
fi
amount=$((quantity * 1999))
payment="pay_$(printf '%s\n%s\n%s\n' charge "${SPOOL_PROCESS_ID:-manual}" "$order_id" | cksum | cut -d ' ' -f 1)"
printf '%s %s\n' "$payment" "$amount" >> payments.log   # the ledger: one line per charge

echo "charge_payment: charged $amount cents"
printf '{"payment_id": "%s", "amount_cents": %s}\n' "$payment" "$amount"
