#!/usr/bin/env python3
"""Submit a request to a spoolrunner spool and wait for its end (standard library only).

Usage: submit.py SPOOL PROCESS_TYPE [NAME=VALUE ...]
Prints "<process_id> <status>" and exits 0 only on success, like `spoolrunner submit --wait`.
"""
import json, os, secrets, sys, time

FINAL = {"success", "failed", "cancelled", "rejected"}

spool, process_type, *pairs = sys.argv[1:]
# The id is the idempotency key: keep it to resubmit the same request safely.
process_id = "proc_" + secrets.token_hex(6)
request = {"process_type": process_type, **dict(pair.split("=", 1) for pair in pairs)}

# Maildir protocol: write and fsync under tmp/, then rename(2) into inbox/ in one step.
temp = os.path.join(spool, "tmp", f"{process_id}.json.{os.getpid()}")
with open(temp, "w") as file:
    json.dump(request, file)
    file.flush()
    os.fsync(file.fileno())
os.rename(temp, os.path.join(spool, "inbox", f"{process_id}.json"))

status_file = os.path.join(spool, "outbox", f"{process_id}.json")
while True:
    try:
        with open(status_file) as file:
            status = json.load(file)["status"]
    except FileNotFoundError:
        status = None
    if status in FINAL:
        print(process_id, status)
        sys.exit(0 if status == "success" else 1)
    time.sleep(0.2)
