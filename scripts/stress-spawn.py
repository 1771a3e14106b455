#!/usr/bin/env python3
"""stress-spawn: many short child processes through a real `spoolrunner serve`, with CPU hogs
beside it; every process must end and no zombie may be left (issue 6, "no lost exit, ever").

    scripts/stress-spawn.py                          # the documented run: 7,000 requests = 21,000 spawns, 2 hogs
    scripts/stress-spawn.py --requests 700 --hogs 2  # the short version the test suite runs
    scripts/stress-spawn.py --bin .build/debug/spoolrunner

Each request is the seed's shape (sync, async, sync) whose three tasks run /bin/true. All requests
are dropped at once into a running `serve`. The run fails when a process has not ended within
--stall seconds of the last progress, or when a child of `serve` stays a zombie.
Prints one summary line; exit status 0 only when every process ended `success` and no zombie is left.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

DEFINITION = """process_type: truechain
tasks:
  - name: first
    mode: sync
    run: ["/bin/true"]
  - name: second
    mode: async
    run: ["/bin/true"]
  - name: third
    mode: sync
    run: ["/bin/true"]
"""


def zombies_of(pid):
    """Children of `pid` that are zombies, as (pid, comm)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                text = handle.read()
        except OSError:
            continue
        close = text.rfind(")")
        fields = text[close + 2:].split()
        if fields[0] == "Z" and int(fields[1]) == pid:
            found.append((int(name), text[text.find("(") + 1:close]))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=7000)
    parser.add_argument("--hogs", type=int, default=2)
    parser.add_argument("--bin", default=None, help="spoolrunner binary (default: build release)")
    parser.add_argument("--stall", type=float, default=60.0, help="seconds without progress that fail the run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary spool")
    args = parser.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = args.bin
    if binary is None:
        subprocess.run(["swift", "build", "-c", "release"], cwd=root, check=True, stdout=subprocess.DEVNULL)
        binary = os.path.join(root, ".build/release/spoolrunner")
    binary = os.path.abspath(binary)

    work = tempfile.mkdtemp(prefix="spoolrunner-stress.")
    spool = os.path.join(work, "spool")
    definitions = os.path.join(work, "definitions")
    os.makedirs(definitions)
    with open(os.path.join(definitions, "truechain.yaml"), "w") as handle:
        handle.write(DEFINITION)
    for sub in ("tmp", "inbox", "outbox", "control", "rejected", "work", "logs"):
        os.makedirs(os.path.join(spool, sub))

    hogs = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(args.hogs)]
    log = open(os.path.join(work, "runner.log"), "w")
    runner = subprocess.Popen(
        [binary, "serve", "--spool", spool, "--definitions", definitions, "--settle", "0s"],
        stdout=subprocess.DEVNULL, stderr=log)
    ok = False
    try:
        ids = [f"s{i:06d}" for i in range(args.requests)]
        body = b'{"process_type": "truechain"}\n'
        for pid in ids:
            staged = os.path.join(spool, "tmp", pid + ".json")
            with open(staged, "wb") as handle:
                handle.write(body)
        started = time.monotonic()
        for pid in ids:
            os.rename(os.path.join(spool, "tmp", pid + ".json"), os.path.join(spool, "inbox", pid + ".json"))

        outbox = os.path.join(spool, "outbox")
        pending = set(ids)
        statuses = {}
        last_progress = time.monotonic()
        while pending and runner.poll() is None:
            time.sleep(0.2)
            done = []
            for pid in pending:
                try:
                    with open(os.path.join(outbox, pid + ".json")) as handle:
                        status = json.load(handle)["status"]
                except (OSError, ValueError):
                    continue
                if status in ("success", "failed", "cancelled", "rejected"):
                    statuses[pid] = status
                    done.append(pid)
            if done:
                pending.difference_update(done)
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > args.stall:
                break
        elapsed = time.monotonic() - started
        # A zombie may exist for an instant between an exit and its reaping: look twice.
        first = set(zombies_of(runner.pid))
        time.sleep(2.0)
        zombies = sorted(first & set(zombies_of(runner.pid)))
        failed = sorted(pid for pid, status in statuses.items() if status != "success")
        spawns = 3 * len(statuses)
        ok = not pending and not failed and not zombies and runner.poll() is None
        print(f"requests={args.requests} hogs={args.hogs} ended={len(statuses)} stuck={len(pending)} "
              f"not_success={len(failed)} zombies={len(zombies)} spawns={spawns} seconds={elapsed:.1f} "
              f"runner_alive={runner.poll() is None} result={'ok' if ok else 'FAIL'}")
        for pid in sorted(pending)[:10]:
            print(f"stuck: {pid}", file=sys.stderr)
        for pid in failed[:10]:
            print(f"not success: {pid} {statuses[pid]}", file=sys.stderr)
        for zombie in zombies[:10]:
            print(f"zombie: pid {zombie[0]} ({zombie[1]})", file=sys.stderr)
        with open(os.path.join(work, "runner.log")) as handle:
            warnings = [line.rstrip() for line in handle if "missed exit" in line]
        for line in warnings[:10]:
            print(f"runner: {line}", file=sys.stderr)
        if warnings:
            print(f"missed_exits_recovered_by_sweep={len(warnings)}")
    finally:
        for hog in hogs:
            hog.kill()
        if runner.poll() is None:
            runner.send_signal(signal.SIGTERM)
            try:
                runner.wait(timeout=30)
            except subprocess.TimeoutExpired:
                runner.kill()
        log.close()
        if args.keep or not ok:
            print(f"spool kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
