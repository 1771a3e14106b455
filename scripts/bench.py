#!/usr/bin/env python3
"""Throughput and latency of spoolrunner on the seed's 3-task process, comparable with the
Celery peer (../shared/peers/celery): processes/s, tasks/s, peak RSS, CPU per 1000 processes,
hop latency (next task's start minus the previous task's end), and the latency of one process
through an idle runner.

Usage: scripts/bench.py BINARY [--n 2000] [--runs 3] [--max-tasks 16] [--out results.jsonl]
"""
import argparse, json, os, resource, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

WORKLOADS = {
    # The seed's shape: validate_user (sync) -> send_email (async) + register_external_service (sync).
    "builtin-noop": ("sleep: 0ms", "sleep: 0ms", "sleep: 0ms"),
    "spawn-noop": ('run: ["/bin/true"]',) * 3,
    "builtin-10ms": ("sleep: 10ms",) * 3,
    "spawn-10ms": ('run: ["/bin/sleep", "0.01"]',) * 3,
}


def definition(actions):
    return f"""inputs:
  user_id: {{type: string, required: true}}
tasks:
  - name: validate_user
    {actions[0]}
  - name: send_email
    mode: async
    {actions[1]}
  - name: register_external_service
    {actions[2]}
"""


def prepare(root, workload, n):
    defs = os.path.join(root, "definitions")
    os.makedirs(defs)
    with open(os.path.join(defs, "premium.yaml"), "w") as f:
        f.write(definition(WORKLOADS[workload]))
    spool = os.path.join(root, "spool")
    for d in ("tmp", "inbox", "control", "outbox", "rejected", "work", "logs"):
        os.makedirs(os.path.join(spool, d))
    for i in range(n):
        tmp = os.path.join(spool, "tmp", f"p{i:06d}.json")
        with open(tmp, "w") as f:
            f.write('{"process_type": "premium", "user_id": "user_123"}')
        os.rename(tmp, os.path.join(spool, "inbox", f"p{i:06d}.json"))
    return spool, defs


def parse(ts):
    # 2026-07-20T15:00:00.004Z -> seconds
    from datetime import datetime, timezone
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def burst(binary, workload, n, max_tasks):
    root = tempfile.mkdtemp(prefix="spoolrunner-bench-")
    try:
        spool, defs = prepare(root, workload, n)
        start = time.time()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", binary, "serve", "--once", "--spool", spool,
                               "--definitions", defs, "--max-tasks", str(max_tasks), "--log-level", "error"],
                              capture_output=True, text=True)
        wall = time.time() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        rss_kb = int(proc.stderr.strip().splitlines()[-1])
        db = sqlite3.connect(os.path.join(spool, "history.sqlite"))
        ok = db.execute("SELECT count(*) FROM processes WHERE status = 'success'").fetchone()[0]
        if ok != n:
            raise SystemExit(f"only {ok} of {n} processes succeeded")
        rows = db.execute("SELECT process_id, task_name, started_at, ended_at FROM tasks").fetchall()
        tasks = {}
        for pid, name, s, e in rows:
            tasks.setdefault(pid, {})[name] = (parse(s), parse(e))
        hops, e2e = [], []
        created = dict(db.execute("SELECT process_id, created_at FROM processes").fetchall())
        for pid, t in tasks.items():
            hops.append(t["register_external_service"][0] - t["validate_user"][1])
            e2e.append(max(v[1] for v in t.values()) - parse(created[pid]))
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"mode": "burst", "workload": workload, "n": n, "max_tasks": max_tasks, "wall_s": round(wall, 3),
                "processes_per_s": round(n / wall, 1), "tasks_per_s": round(3 * n / wall, 1),
                "peak_rss_mb": round(rss_kb / 1024, 1), "cpu_s_per_1000": round(cpu / n * 1000, 2),
                "hop_p50_ms": round(statistics.median(hops) * 1000, 2), "e2e_p50_s": round(statistics.median(e2e), 3)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def serial(binary, workload, n):
    """One process at a time through an idle `serve` (inotify pick-up)."""
    root = tempfile.mkdtemp(prefix="spoolrunner-bench-")
    try:
        spool, defs = prepare(root, workload, 0)
        runner = subprocess.Popen([binary, "serve", "--spool", spool, "--definitions", defs, "--log-level", "error"],
                                  stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        latencies = []
        for i in range(n):
            pid = f"s{i:06d}"
            tmp = os.path.join(spool, "tmp", pid + ".json")
            with open(tmp, "w") as f:
                f.write('{"process_type": "premium", "user_id": "user_123"}')
            t0 = time.time()
            os.rename(tmp, os.path.join(spool, "inbox", pid + ".json"))
            path = os.path.join(spool, "outbox", pid + ".json")
            while True:
                try:
                    with open(path) as f:
                        if json.load(f)["status"] == "success":
                            break
                except (FileNotFoundError, ValueError):
                    pass
                time.sleep(0.0005)
            latencies.append(time.time() - t0)
        runner.terminate()
        runner.wait(timeout=60)
        latencies.sort()
        return {"mode": "serial", "workload": workload, "n": n,
                "drop_to_success_p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
                "drop_to_success_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
                "sequential_processes_per_s": round(n / sum(latencies), 1)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tasks", type=int, default=16)
    parser.add_argument("--serial-n", type=int, default=200)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--out")
    args = parser.parse_args()
    results = []
    for workload in args.workloads.split(","):
        for run in range(args.runs):
            result = burst(args.binary, workload, args.n, args.max_tasks)
            print(json.dumps(result), flush=True)
            results.append(result)
    if args.serial_n:
        for workload in ("builtin-noop", "spawn-noop"):
            for run in range(args.runs):
                result = serial(args.binary, workload, args.serial_n)
                print(json.dumps(result), flush=True)
                results.append(result)
    if args.out:
        with open(args.out, "a") as f:
            for r in results:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
