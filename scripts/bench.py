#!/usr/bin/env python3
"""The benchmark harness of issue 10: workloads W1-W6 on a temporary spool, release build.

Each workload prints one line of `key=value` measures (and appends a JSON object to --json-out):

  requests, wall_s, processes_per_s, task_transitions_per_s (2 per task: started, ended; the Celery
  peer's definition), pickup_p50_ms / pickup_p99_ms (client's rename into inbox/ -> first task
  started, from the store, whose times are in whole milliseconds), e2e_p50_ms / e2e_p99_ms (rename -> final status file written, its mtime),
  peak_rss_mb (the runner's, from wait4), cpu_s_per_1000 (runner + its children, user + system),
  cores, load (1-minute load average before,after: the machine is shared).

  W1  seed shape (sync, async, sync), built-in no-op tasks (`sleep: 0s`), requests pre-dropped
  W2  the same shape, every task `run: ["/bin/true"]`; beside it `xargs -P` running `true` the same
      number of times in the same run (spawns/s of both, and the ratio)
  W3  the same shape, every task `sleep: 10ms`, once with --max-tasks 16 and once with 256
  W4  single drops into an idle `serve`, one every 50 ms (latency; also the idle RSS before them)
  W5  many requests queued before start: time to drain, peak RSS; idle RSS of `serve` afterwards
  W6  a store of N processes generated from rows the real runner wrote (one transaction per 10,000);
      CLI time of `history` by type / status / time range / newest (--limit 50), `events`, `status`

Usage:
  scripts/bench.py                                   # builds release, runs W1-W6 at full size
  scripts/bench.py --only W1,W4 --binary .build/release/spoolrunner
  scripts/bench.py --scale 0.1                       # every size times 0.1
  scripts/bench.py --binary .build/debug/spoolrunner --w1 20 --w2 10 --w3 10 --w4 5 --w5 50 --w6 2000
"""
import argparse, calendar, json, math, os, re, shutil, signal, sqlite3, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUEST = '{"process_type": "premium", "user_id": "user_123"}'
FINAL = {"success", "failed", "cancelled", "rejected"}


def definition(actions, process_type="premium"):
    """The seed's shape: validate_user (sync) -> send_email (async) + register_external_service (sync)."""
    return f"""process_type: {process_type}
inputs:
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


NOOP = ("sleep: 0s",) * 3
TRUE = ('run: ["/bin/true"]',) * 3
TEN_MS = ("sleep: 10ms",) * 3


class Spool:
    """A temporary spool with one definition; removed on exit unless --keep."""

    def __init__(self, args, actions, extra_definitions=()):
        self.keep = args.keep
        self.root = tempfile.mkdtemp(prefix="spoolrunner-bench-")
        self.spool = os.path.join(self.root, "spool")
        self.defs = os.path.join(self.root, "definitions")
        os.makedirs(self.defs)
        with open(os.path.join(self.defs, "premium.yaml"), "w") as f:
            f.write(definition(actions))
        for name, text in extra_definitions:
            with open(os.path.join(self.defs, name + ".yaml"), "w") as f:
                f.write(text)
        for d in ("tmp", "inbox", "control", "outbox", "rejected", "work", "logs"):
            os.makedirs(os.path.join(self.spool, d))
        self.db = os.path.join(self.spool, "history.sqlite")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.keep:
            print(f"# kept {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def drop(self, pid, body=REQUEST):
        """tmp + rename, as a client does; returns the time just before the rename (ns): taken
        after it, a runner that wakes first on the inotify event would seem to start the task early."""
        tmp = os.path.join(self.spool, "tmp", pid + ".json")
        with open(tmp, "w") as f:
            f.write(body)
        renamed = time.time_ns()
        os.rename(tmp, os.path.join(self.spool, "inbox", pid + ".json"))
        return renamed

    def command(self, binary, verb, *extra):
        return [binary, verb, "--spool", self.spool, "--definitions", self.defs, *extra]


def load():
    return os.getloadavg()[0]


def wait_rusage(proc):
    """Waits for `proc` and returns its own rusage (wait4), not that of every child we ever had."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage


def serve_once(binary, spool, max_tasks):
    """`serve --once` over what is in the inbox: wall seconds and rusage."""
    cmd = spool.command(binary, "serve", "--once", "--max-tasks", str(max_tasks), "--log-level", "error")
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    usage = wait_rusage(proc)
    wall = time.time() - start
    if proc.returncode != 0:
        raise SystemExit(f"serve --once exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage


_seconds = {}


def parse_ms(ts):
    """'2026-11-29T06:40:34.688Z' -> epoch ms (the store's timestamps are UTC, millisecond)."""
    head = ts[:19]
    base = _seconds.get(head)
    if base is None:
        base = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S")) * 1000
        _seconds[head] = base
    return base + int(ts[20:23])


def percentile(values, p):
    """Nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def latencies(spool, drops, tasks_per_process=3, expect="success"):
    """Pickup and end-to-end latency (ms) of every dropped request; checks every one ended `expect`."""
    db = sqlite3.connect(f"file:{spool.db}?mode=ro", uri=True)
    try:
        statuses = dict(db.execute("SELECT process_id, status FROM processes"))
        first_start = dict(
            db.execute("SELECT process_id, MIN(started_at) FROM tasks WHERE started_at IS NOT NULL GROUP BY process_id"))
        ntasks = db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
    finally:
        db.close()
    bad = [pid for pid in drops if statuses.get(pid) != expect]
    if bad:
        raise SystemExit(f"{len(bad)} of {len(drops)} processes did not end {expect}, e.g. {bad[0]}: {statuses.get(bad[0])}")
    pickup, e2e = [], []
    for pid, renamed_ns in drops.items():
        # The store's times are cut down to the millisecond: +0.5 ms is the unbiased estimate.
        pickup.append(parse_ms(first_start[pid]) + 0.5 - renamed_ns / 1e6)
        path = os.path.join(spool.spool, "outbox", pid + ".json")
        with open(path) as f:
            if json.load(f)["status"] != expect:
                raise SystemExit(f"{path} is not final")
        e2e.append((os.stat(path).st_mtime_ns - renamed_ns) / 1e6)
    return pickup, e2e, ntasks


def measures(name, n, wall, ntasks, pickup, e2e, usage, load_before, **extra):
    cpu = usage.ru_utime + usage.ru_stime
    result = {
        "workload": name,
        "requests": n,
        "wall_s": round(wall, 3),
        "processes_per_s": round(n / wall, 1),
        "task_transitions_per_s": round(2 * ntasks / wall, 1),
        "pickup_p50_ms": round(percentile(pickup, 0.50), 2),
        "pickup_p99_ms": round(percentile(pickup, 0.99), 2),
        "e2e_p50_ms": round(percentile(e2e, 0.50), 2),
        "e2e_p99_ms": round(percentile(e2e, 0.99), 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "cpu_s_per_1000": round(cpu / n * 1000, 3),
        "cores": os.cpu_count(),
        "load": f"{load_before:.2f},{load():.2f}",
    }
    result.update(extra)
    return result


def burst(args, name, actions, n, max_tasks, **extra):
    """Drops n requests, then `serve --once` takes them all."""
    with Spool(args, actions) as spool:
        drops = {f"p{i:07d}": spool.drop(f"p{i:07d}") for i in range(n)}
        before = load()
        wall, usage = serve_once(args.binary, spool, max_tasks)
        pickup, e2e, ntasks = latencies(spool, drops)
        return measures(name, n, wall, ntasks, pickup, e2e, usage, before, max_tasks=max_tasks, **extra)


def w1(args):
    return [burst(args, "W1", NOOP, args.w1, 16)]


def w2(args):
    spawns = 3 * args.w2
    before = load()
    start = time.time()
    subprocess.run(f"seq {spawns} | xargs -P {args.xargs_p} -n 1 true", shell=True, check=True)
    xargs_rate = spawns / (time.time() - start)
    result = burst(args, "W2", TRUE, args.w2, 16)
    runner_rate = spawns / result["wall_s"]
    result.update({
        "xargs_p": args.xargs_p,
        "xargs_spawns_per_s": round(xargs_rate, 1),
        "runner_spawns_per_s": round(runner_rate, 1),
        "spawn_ratio": round(runner_rate / xargs_rate, 3),
        "load": f"{before:.2f},{load():.2f}",
    })
    return [result]


def w3(args):
    return [burst(args, "W3", TEN_MS, args.w3, m) for m in (16, 256)]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def wait_final(spool, pid, timeout=60):
    path = os.path.join(spool.spool, "outbox", pid + ".json")
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                if json.load(f)["status"] in FINAL:
                    return
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.005)
    raise SystemExit(f"{path}: no final status within {timeout} s")


def start_serve(args, spool):
    """A long-running `serve`, ready once a warm-up request has ended."""
    proc = subprocess.Popen(spool.command(args.binary, "serve", "--log-level", "error"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spool.drop("warmup")
    wait_final(spool, "warmup")
    return proc


def stop_serve(proc):
    proc.send_signal(signal.SIGTERM)
    usage = wait_rusage(proc)
    if proc.returncode != 0:
        raise SystemExit(f"serve exited {proc.returncode} on SIGTERM")
    return usage


def w4(args):
    with Spool(args, NOOP) as spool:
        proc = start_serve(args, spool)
        time.sleep(1.0)
        idle = rss_mb(proc.pid)
        before = load()
        interval = args.w4_interval_ms / 1000
        drops = {}
        start = time.time()
        for i in range(args.w4):
            pid = f"s{i:07d}"
            drops[pid] = spool.drop(pid)
            # Fixed cadence from the start, so a slow iteration does not stretch the run.
            delay = start + (i + 1) * interval - time.time()
            if delay > 0:
                time.sleep(delay)
        for pid in drops:
            wait_final(spool, pid)
        wall = time.time() - start
        usage = stop_serve(proc)
        pickup, e2e, ntasks = latencies(spool, drops)
        ntasks -= 3  # the warm-up's
        return [measures("W4", args.w4, wall, ntasks, pickup, e2e, usage, before,
                         interval_ms=args.w4_interval_ms, idle_rss_mb=idle)]


def w5(args):
    with Spool(args, NOOP) as spool:
        drops = {f"q{i:07d}": spool.drop(f"q{i:07d}") for i in range(args.w5)}
        before = load()
        wall, usage = serve_once(args.binary, spool, 16)
        pickup, e2e, ntasks = latencies(spool, drops)
        proc = start_serve(args, spool)
        time.sleep(2.0)
        idle = rss_mb(proc.pid)
        stop_serve(proc)
        return [measures("W5", args.w5, wall, ntasks, pickup, e2e, usage, before, drain_s=round(wall, 3),
                         idle_rss_mb=idle)]


# W6 ------------------------------------------------------------------------------------------

# The store is generated from templates: processes the real runner ran on this spool, whose rows
# are copied with a new id and every timestamp shifted (SQL in SQLite, one transaction per 10,000
# processes), so the rows are exactly what the runner writes, whatever its version writes.
W6_TYPES = [  # (process type, definition, share out of 10, final status)
    ("premium", definition(NOOP), range(0, 7), "success"),
    ("order", definition(NOOP, "order"), range(7, 9), "success"),
    ("doomed", definition(('run: ["/bin/false"]', "sleep: 0s", "sleep: 0s"), "doomed"), range(9, 10), "failed"),
]
W6_DAYS = 30
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SQL_TIME = "strftime('%Y-%m-%dT%H:%M:%fZ', (:base + n * :step + {off}) / 1000.0, 'unixepoch')"
SQL_ID = "('w6-' || printf('%07d', n))"


def w6_id(n):
    return f"w6-{n:07d}"


def template_rows(db, table, pid, order):
    cursor = db.execute(f"SELECT * FROM {table} WHERE process_id = ? ORDER BY {order}", (pid,))
    names = [d[0] for d in cursor.description]
    return names, cursor.fetchall()


def insert_sql(table, names, row, template_pid, created_ms, params, tag):
    """INSERT ... SELECT over the numbers n of one chunk, the row's values rewritten for process n."""
    exprs = []
    for name, value in zip(names, row):
        if table == "events" and name == "id":
            continue  # a new AUTOINCREMENT id, in insertion order as the runner's
        key = f"{tag}_{name}"
        if isinstance(value, str) and TIMESTAMP.match(value):
            exprs.append(SQL_TIME.format(off=parse_ms(value) - created_ms))
        elif isinstance(value, str) and template_pid in value:
            params[key] = value
            exprs.append(f"replace(:{key}, :tpid, {SQL_ID})")
        else:
            params[key] = value
            exprs.append(f":{key}")
    columns = [n for n in names if not (table == "events" and n == "id")]
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs)} FROM chunk WHERE n % 10 IN ({{shares}})"


def w6(args):
    extra = [(name, text) for name, text, _, _ in W6_TYPES if name != "premium"]
    with Spool(args, NOOP, extra) as spool:
        templates = {name: f"t-{name}" for name, _, _, _ in W6_TYPES}
        for name, pid in templates.items():
            spool.drop(pid, json.dumps({"process_type": name, "user_id": "user_123"}))
        serve_once(args.binary, spool, 16)
        db = sqlite3.connect(spool.db, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA synchronous = NORMAL")  # generated rows: one fsync per checkpoint is enough
        statements = []  # (sql, params)
        status_templates = {}
        for tindex, (name, _, shares, final) in enumerate(W6_TYPES):
            pid = templates[name]
            (status,) = db.execute("SELECT status FROM processes WHERE process_id = ?", (pid,)).fetchone()
            if status != final:
                raise SystemExit(f"template {pid} ended {status}, expected {final}")
            (created,) = db.execute("SELECT created_at FROM processes WHERE process_id = ?", (pid,)).fetchone()
            created_ms = parse_ms(created)
            for table, order in (("processes", "rowid"), ("tasks", "rowid"), ("events", "id")):
                names, rows = template_rows(db, table, pid, order)
                for rindex, row in enumerate(rows):
                    params = {"tpid": pid}
                    sql = insert_sql(table, names, row, pid, created_ms, params, f"t{tindex}r{rindex}")
                    statements.append((sql.replace("{shares}", ",".join(map(str, shares))), params))
            with open(os.path.join(spool.spool, "outbox", pid + ".json")) as f:
                status_templates[name] = (f.read(), created_ms)
        n_total = args.w6
        step = W6_DAYS * 86400 * 1000 / n_total
        base = int(time.time() * 1000) - W6_DAYS * 86400 * 1000
        before = load()
        start = time.time()
        chunk = 10_000
        for lo in range(0, n_total, chunk):
            hi = min(n_total, lo + chunk)
            db.execute("BEGIN IMMEDIATE")
            db.execute("DROP TABLE IF EXISTS temp.chunk")
            db.execute("CREATE TEMP TABLE chunk (n INTEGER PRIMARY KEY)")
            db.execute("WITH RECURSIVE s(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM s WHERE n + 1 < ?) "
                       "INSERT INTO chunk SELECT n FROM s", (lo, hi))
            for sql, params in statements:
                db.execute(sql, {**params, "base": base, "step": step})
            db.execute("COMMIT")
        generate_s = time.time() - start
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (count,) = db.execute("SELECT COUNT(*) FROM processes").fetchone()
        db.close()
        if count != n_total + len(templates):
            raise SystemExit(f"generated {count} processes, expected {n_total + len(templates)}")
        # One premium process in the middle for `events` and `status`; its status file as the
        # runner would have written it (the template's, id and times rewritten).
        probe = (n_total // 20) * 10
        text, created_ms = status_templates["premium"]
        shift = base + probe * step - created_ms
        text = text.replace(templates["premium"], w6_id(probe))
        text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                      lambda m: fmt_ms(parse_ms(m.group(0)) + shift), text)
        with open(os.path.join(spool.spool, "outbox", w6_id(probe) + ".json"), "w") as f:
            f.write(text)
        mid = base + W6_DAYS * 86400 * 1000 // 2
        queries = {
            "history_newest": ["history", "--limit", "50"],
            "history_type": ["history", "--type", "order", "--limit", "50"],
            "history_status": ["history", "--status", "failed", "--limit", "50"],
            "history_range": ["history", "--since", fmt_ms(mid), "--until", fmt_ms(mid + 3_600_000), "--limit", "50"],
            "events": ["events", w6_id(probe)],
            "status": ["status", w6_id(probe)],
            "cli_start": ["--version"],
        }
        result = {"workload": "W6", "requests": count, "generate_s": round(generate_s, 1),
                  "generated_per_s": round(n_total / generate_s), "db_mb": round(os.path.getsize(spool.db) / 2**20)}
        peak = 0
        for key, verb in queries.items():
            times = []
            for _ in range(args.w6_repeats):
                cmd = [args.binary, *verb] if key == "cli_start" else [args.binary, verb[0], "--spool", spool.spool, *verb[1:]]
                t0 = time.time()
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                out = proc.stdout.read()
                err = proc.stderr.read()
                usage = wait_rusage(proc)
                times.append((time.time() - t0) * 1000)
                peak = max(peak, usage.ru_maxrss)
                if proc.returncode != 0 or not out.strip():
                    raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode()[-500:]}")
                # A one-hour window holds 50 rows only in a store of 36,000 processes or more.
                if key.startswith("history") and len(out.splitlines()) < 50 and n_total >= 36_000:
                    raise SystemExit(f"{' '.join(cmd)} printed {len(out.splitlines())} rows, expected 50")
            result[f"{key}_ms"] = round(sorted(times)[len(times) // 2], 1)
            result[f"{key}_max_ms"] = round(max(times), 1)
        result.update({"peak_rss_mb": round(peak / 1024, 1), "cores": os.cpu_count(),
                       "load": f"{before:.2f},{load():.2f}"})
        return [result]


def fmt_ms(ms):
    ms = int(round(ms))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6}


def build():
    print("# swift build -c release --product spoolrunner", file=sys.stderr)
    subprocess.run(["swift", "build", "-c", "release", "--product", "spoolrunner"], cwd=REPO, check=True)
    path = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout.strip()
    return os.path.join(path, "spoolrunner")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", help="run this spoolrunner instead of building release")
    p.add_argument("--only", default="W1,W2,W3,W4,W5,W6", help="comma-separated workloads")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    p.add_argument("--w1", type=int, default=5000)
    p.add_argument("--w2", type=int, default=2000)
    p.add_argument("--w3", type=int, default=1000)
    p.add_argument("--w4", type=int, default=500)
    p.add_argument("--w4-interval-ms", type=float, default=50)
    p.add_argument("--w5", type=int, default=50000)
    p.add_argument("--w6", type=int, default=1_000_000)
    p.add_argument("--w6-repeats", type=int, default=5, help="runs of each W6 query (the median is printed)")
    p.add_argument("--xargs-p", type=int, default=4)
    p.add_argument("--json-out", help="append one JSON object per result")
    p.add_argument("--keep", action="store_true", help="keep the temporary spools")
    args = p.parse_args()
    for w in ("w1", "w2", "w3", "w4", "w5", "w6"):
        setattr(args, w, max(1, int(getattr(args, w) * args.scale)))
    args.binary = os.path.abspath(args.binary) if args.binary else build()
    print(f"# {args.binary}; {os.cpu_count()} cores; load {os.getloadavg()}", file=sys.stderr)
    results = []
    for name in args.only.split(","):
        if name not in WORKLOADS:
            raise SystemExit(f"--only: unknown workload {name!r} (known: {', '.join(WORKLOADS)})")
        for result in WORKLOADS[name](args):
            print(" ".join([result["workload"]] + [f"{k}={v}" for k, v in result.items() if k != "workload"]),
                  flush=True)
            results.append(result)
            if args.json_out:
                with open(args.json_out, "a") as f:
                    f.write(json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result}) + "\n")


if __name__ == "__main__":
    main()
