#!/usr/bin/env python3
"""Issue 13's fleet benchmarks P1-P7: three `serve --store` runners and one PostgreSQL on this machine.

One run starts a throwaway PostgreSQL (scripts/pg-test-server.sh, fsync and synchronous_commit on,
pg_stat_statements loaded), measures the database-side ceiling with scripts/pg-ceiling.sh against
it, then each workload on a database of its own, and prints one `key=value` line per workload (also
appended as JSON to --json-out). Times come from the store (timestamps of the runners' clock, the
same machine's) and from the client's rename into inbox/.

  ceiling  scripts/pg-ceiling.sh on the same server: batch 1 and 25, --ceiling-connections
  P1  --p1 requests of the seed's shape (in-process no-op tasks, `sleep: 0s`), pre-written in the 3
      hosts' tmp/ and renamed into the 3 inboxes round-robin at once; processes/s until the last
      process is final in the store, and until its status file is final on its host
  P2  P1 with `--commit-batch 1`; P1 / P2
  P3  --p3 requests whose 3 tasks `sleep: 100ms`, --max-tasks 16: 3 runners, then 1 runner; ratio
  P4  idle fleet, --p4 single drops every 50 ms round-robin: pickup (rename -> first task started)
      and end to end (rename -> final status file on the drop host), p50 / p99
  P5  `--lease 10s` under load (requests of 3 x `sleep: 1s` dropped at --p5-rate/s): kill -9 of the
      leader (time to a new leader; time until each process it held starts a task elsewhere), kill -9
      of another runner (the same), kill -9 and restart at once on the same spool (restart -> first
      task start of its processes); a `* * * * *` schedule with --p5-entries named entries: slots
      lost or duplicated over the minutes the run covered
  P6  history over --p6 processes generated in SQL from a few the real runner wrote: the CLI's
      wall time and CPU time (median of 5, process start included) and the server's execution time
      (pg_stat_statements), per query
  P7  idle fleet of 3 for --p7-seconds: connections per runner (pg_stat_activity) and statements/s
      (pg_stat_statements calls), transactions/s (pg_stat_database)

With --profile, P1 also records where the time goes: `perf record -g` of one runner, the top
statements of pg_stat_statements and the wait events sampled from pg_stat_activity every 100 ms.

The binary should be the shipped one, `make`'s `swift build -c release --static-swift-stdlib`: with
the Swift runtime linked in, a CLI command starts in ~6 ms less CPU than with the toolchain's shared
libraries (no dynamic linking of libswiftCore/Foundation), which P6 times whole. The first line
says which kind was given (`static swift runtime: yes|no`, also in P6's JSON).

Usage:
  swift build -c release --static-swift-stdlib --product spoolrunner
  scripts/bench-fleet.py --binary .build/release/spoolrunner --profile        # full size
  scripts/bench-fleet.py --scale 0.05 --only P1,P2,P4,P7 --p7-seconds 10      # a short run
"""
import argparse, json, math, os, resource, shlex, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUEST = '{"process_type": "premium", "user_id": "user_123"}'
FINAL = ("success", "failed", "cancelled")


def definition(action, process_type="premium"):
    """The seed's shape: validate_user (sync) -> send_email (async) + register_external_service (sync)."""
    return f"""process_type: {process_type}
inputs:
  user_id: {{type: string, required: true}}
tasks:
  - name: validate_user
    {action}
  - name: send_email
    mode: async
    {action}
  - name: register_external_service
    {action}
"""


def schedule_definition(entries):
    lines = ["process_type: tick", "schedule:"]
    for i in range(entries):
        lines += [f"  - name: e{i}", '    cron: "* * * * *"']
    lines += ["tasks:", "  - name: tock", "    sleep: 0s", ""]
    return "\n".join(lines)


def log(message):
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def loadavg():
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def percentile(values, p):
    """Nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


class Server:
    """The throwaway PostgreSQL, and psql against one of its databases."""

    def __init__(self, args):
        self.dir = tempfile.mktemp(prefix="spoolrunner-bench-pg.")
        env = dict(os.environ, PG_EXTRA_OPTIONS="-c shared_preload_libraries=pg_stat_statements "
                   "-c pg_stat_statements.track=all -c max_connections=200")
        self.url = subprocess.check_output([f"{REPO}/scripts/pg-test-server.sh", "start", self.dir], env=env,
                                           text=True).strip()
        self.base = self.url.split("?")[0].rsplit("/", 1)[0]
        self.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def stop(self):
        subprocess.run([f"{REPO}/scripts/pg-test-server.sh", "stop", self.dir], check=False)

    def conninfo(self, db="spoolrunner"):
        return f"{self.base}/{db}?sslmode=disable"

    def sql(self, query, db="spoolrunner"):
        """Rows of `query` as lists of strings."""
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                              self.conninfo(db), "-c", query], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"psql failed: {out.stderr.strip()}\n{query}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def value(self, query, db="spoolrunner"):
        rows = self.sql(query, db)
        return rows[0][0] if rows else None

    def database(self, name):
        self.sql(f"DROP DATABASE IF EXISTS {name}")
        self.sql(f"CREATE DATABASE {name}")
        return self.conninfo(name)


class Host:
    """One host of the fleet: its own spool and definitions, and its runner."""

    def __init__(self, root, name, definitions):
        self.name = name
        self.root = os.path.join(root, name)
        self.spool = os.path.join(self.root, "spool")
        self.defs = os.path.join(self.root, "definitions")
        os.makedirs(self.defs)
        for d in ("tmp", "inbox", "outbox"):
            os.makedirs(os.path.join(self.spool, d))
        for file_name, text in definitions.items():
            with open(os.path.join(self.defs, file_name), "w") as f:
                f.write(text)
        self.proc = None
        self.log = os.path.join(self.root, "runner.log")

    def start(self, args, url, extra=()):
        cmd = [args.binary, "serve", "--store", url, "--spool", self.spool, "--definitions", self.defs,
               "--runner-id", self.name, "--log-level", "warning", *extra, *args.serve_args]
        self.started = time.time()
        with open(self.log, "a") as f:
            self.proc = subprocess.Popen(cmd, stdout=f, stderr=f, stdin=subprocess.DEVNULL)
        return self.proc

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise SystemExit(f"{self.name}: no exit within 60 s of SIGTERM; log {self.log}")
            if self.proc.returncode != 0:
                raise SystemExit(f"{self.name} exited {self.proc.returncode}: {open(self.log).read()[-2000:]}")

    def write(self, pid, body=REQUEST):
        with open(os.path.join(self.spool, "tmp", pid + ".json"), "w") as f:
            f.write(body)

    def rename(self, pid):
        """Into inbox/; returns the time just before the rename (ns)."""
        at = time.time_ns()
        os.rename(os.path.join(self.spool, "tmp", pid + ".json"), os.path.join(self.spool, "inbox", pid + ".json"))
        return at

    def drop(self, pid, body=REQUEST):
        self.write(pid, body)
        return self.rename(pid)

    def status(self, pid):
        """(status, mtime ns) of the status file, or None."""
        path = os.path.join(self.spool, "outbox", pid + ".json")
        try:
            with open(path) as f:
                status = json.load(f)["status"]
            return status, os.stat(path).st_mtime_ns
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def heartbeat(self):
        try:
            with open(os.path.join(self.spool, "runner.json")) as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return {}


class Fleet:
    def __init__(self, args, server, db, definitions, names=("host-a", "host-b", "host-c")):
        self.args, self.server, self.db = args, server, db
        self.url = server.database(db)
        self.root = tempfile.mkdtemp(prefix=f"spoolrunner-bench-fleet-{db}-")
        self.hosts = [Host(self.root, name, definitions) for name in names]

    def start(self, extra=(), hosts=None):
        hosts = hosts or self.hosts
        # The first runner migrates alone, so the others do not all wait on the migration lock.
        hosts[0].start(self.args, self.url, extra)
        self.wait_alive(hosts[:1])
        for host in hosts[1:]:
            host.start(self.args, self.url, extra)
        self.wait_alive(hosts)

    def wait_alive(self, hosts, timeout=60):
        names = ",".join(f"'{h.name}'" for h in hosts)
        deadline = time.time() + timeout
        while time.time() < deadline:
            for host in hosts:
                if host.proc.poll() is not None:
                    raise SystemExit(f"{host.name} exited {host.proc.returncode}: {open(host.log).read()[-2000:]}")
            try:
                n = int(self.server.value(
                    f"SELECT count(*) FROM runners WHERE state = 'alive' AND runner_id IN ({names})", self.db))
            except SystemExit:
                n = 0  # not migrated yet
            if n == len(hosts):
                return
            time.sleep(0.1)
        raise SystemExit(f"runners {names} not alive within {timeout} s")

    def stop(self):
        for host in self.hosts:
            host.stop()

    def cleanup(self):
        for host in self.hosts:
            if host.proc and host.proc.poll() is None:
                host.proc.kill()
                host.proc.wait()
        if self.args.keep:
            log(f"kept {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def final_count(self, like="%"):
        return int(self.server.value(
            f"SELECT count(*) FROM processes WHERE status IN ('success','failed','cancelled') "
            f"AND process_id LIKE '{like}'", self.db))

    def wait_final(self, n, like="%", timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.final_count(like) >= n:
                return
            time.sleep(0.2)
        raise SystemExit(f"{self.db}: only {self.final_count(like)} of {n} processes final after {timeout} s")

    def wait_status_files(self, drops, timeout=120):
        """drops: pid -> (host, renamed ns). Waits until each status file is final on its host;
        returns pid -> mtime ns."""
        deadline = time.time() + timeout
        done = {}
        while time.time() < deadline:
            for pid, (host, _) in drops.items():
                if pid in done:
                    continue
                status = host.status(pid)
                if status and status[0] in FINAL:
                    done[pid] = status[1]
            if len(done) == len(drops):
                return done
            time.sleep(0.05)
        missing = [pid for pid in drops if pid not in done]
        raise SystemExit(f"{len(missing)} status files not final after {timeout} s, e.g. {missing[0]}")

    def epoch(self, query):
        return float(self.server.value(query, self.db))

    def check_success(self, like, n):
        bad = self.server.sql(
            f"SELECT process_id, status FROM processes WHERE process_id LIKE '{like}' AND status <> 'success' LIMIT 3",
            self.db)
        count = int(self.server.value(f"SELECT count(*) FROM processes WHERE process_id LIKE '{like}'", self.db))
        if bad or count != n:
            raise SystemExit(f"{self.db}: {count} of {n} processes, not all success: {bad}")


class Sampler:
    """pg_stat_activity's wait events every 100 ms, from one psql running `\\watch`."""

    def __init__(self, server, db):
        query = (f"SELECT 'W', coalesce(wait_event_type, 'CPU'), coalesce(wait_event, state) FROM pg_stat_activity "
                 f"WHERE datname = '{db}' AND application_name LIKE 'spoolrunner/%' AND state <> 'idle' \\watch 0.1")
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-F", "\t", server.conninfo(db)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.proc.stdin.write(query + "\n")
        self.proc.stdin.flush()
        self.counts = {}
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        for line in self.proc.stdout:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and parts[0] == "W":
                key = f"{parts[1]}:{parts[2]}"
                self.counts[key] = self.counts.get(key, 0) + 1

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        total = sum(self.counts.values()) or 1
        return [(k, v, round(100 * v / total, 1)) for k, v in sorted(self.counts.items(), key=lambda kv: -kv[1])]


def top_statements(server, db, limit=8):
    rows = server.sql(
        f"SELECT calls, round(total_exec_time::numeric, 0), round(mean_exec_time::numeric, 3), rows, "
        f"regexp_replace(left(query, 110), '\\s+', ' ', 'g') FROM pg_stat_statements "
        f"WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{db}') ORDER BY total_exec_time DESC LIMIT {limit}")
    return [{"calls": int(r[0]), "total_ms": float(r[1]), "mean_ms": float(r[2]), "rows": int(r[3]), "query": r[4]}
            for r in rows]


def perf_report(data):
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                          "--percent-limit", "1.5", "--sort", "dso,symbol"], capture_output=True, text=True)
    # "  12.34%  dso  [.] symbol   -  -": percent, library and symbol.
    lines = [" ".join(l.split()[:2] + [" ".join(l.split()[3:]).rstrip(" -")[:140]])
             for l in out.stdout.splitlines() if l.strip() and not l.startswith("#")]
    samples = next((l for l in out.stdout.splitlines() if "of event" in l), "")
    return samples.strip("# "), lines[:25]


def ceiling(args, server):
    env = dict(os.environ, SECONDS_PER_RUN=str(args.ceiling_seconds), CONNECTIONS=args.ceiling_connections,
               BATCHES="1 25", SPOOLRUNNER=args.binary)
    load_before = loadavg()
    out = subprocess.run([f"{REPO}/scripts/pg-ceiling.sh", server.url], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"pg-ceiling.sh failed: {out.stderr}")
    result = {"name": "ceiling", "load": f"{load_before},{loadavg()}"}
    for line in out.stdout.splitlines()[1:]:
        batch, connections, tps, pps = line.split()
        result[f"batch{batch}_c{connections}_processes_per_s"] = int(pps)
    return [result]


def throughput(args, server, name, n, action, extra, runners=3, profile=False):
    """n requests of the seed's shape with `action` tasks over `runners` inboxes, all renamed in at once."""
    fleet = Fleet(args, server, name.lower(), {"premium.yaml": definition(action)},
                  names=("host-a", "host-b", "host-c")[:runners])
    try:
        fleet.start(extra)
        hosts = fleet.hosts
        ids = [f"{name.lower()}-{i:07d}" for i in range(n)]
        for i, pid in enumerate(ids):
            hosts[i % len(hosts)].write(pid)
        server.sql("SELECT pg_stat_statements_reset()")
        sampler = Sampler(server, fleet.db) if profile else None
        perf = None
        if profile:
            data = os.path.join(fleet.root, "perf.data")
            perf = subprocess.Popen(["perf", "record", "-g", "-F", "499", "-o", data, "-p", str(hosts[0].proc.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu_before = [cpu_seconds(h.proc.pid) for h in hosts]
        load_before = loadavg()
        drops = {}
        start = time.time()
        for i, pid in enumerate(ids):
            host = hosts[i % len(hosts)]
            drops[pid] = (host, host.rename(pid))
        fleet.wait_final(n, f"{name.lower()}-%")
        store_end = fleet.epoch(f"SELECT extract(epoch FROM max(ended_at)) FROM processes WHERE process_id LIKE '{name.lower()}-%'")
        cpu_after = [cpu_seconds(h.proc.pid) for h in hosts]
        result = {"name": name, "requests": n, "runners": runners, "args": " ".join(extra),
                  "load": f"{load_before},{loadavg()}"}
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        files = fleet.wait_status_files(drops)
        fleet.check_success(f"{name.lower()}-%", n)
        wall = store_end - start
        result.update(wall_s=round(wall, 2), processes_per_s=round(n / wall, 1),
                      status_files_wall_s=round(max(files.values()) / 1e9 - start, 2),
                      processes_per_s_status_files=round(n / (max(files.values()) / 1e9 - start), 1),
                      runner_cpu_s_per_1000=round(sum(a - b for a, b in zip(cpu_after, cpu_before)) / n * 1000, 2),
                      transactions=int(server.value(
                          f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{fleet.db}'")))
        # The pools keep what they opened: the most connections each runner used under this load.
        result["connections"] = {r[0]: int(r[1]) for r in server.sql(
            f"SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = '{fleet.db}' "
            "AND application_name LIKE 'spoolrunner/%' GROUP BY 1 ORDER BY 1")}
        # Processes some task of which ran on a host that does not subscribe to it (its status
        # file is written elsewhere, after a notification).
        result["executed_elsewhere"] = int(server.value(
            "SELECT count(DISTINCT t.process_id) FROM tasks t WHERE NOT EXISTS (SELECT 1 FROM subscriptions s "
            "WHERE s.process_id = t.process_id AND s.runner_id = t.runner_id)", fleet.db))
        if profile:
            result["wait_events"] = sampler.stop()[:10]
            result["top_statements"] = top_statements(server, fleet.db, limit=14)
            result["perf_samples"], result["perf_top"] = perf_report(data)
        fleet.stop()
        return result
    finally:
        fleet.cleanup()


def cpu_seconds(pid):
    """User + system CPU of a live process and its reaped children (/proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(x) for x in fields[11:15]) / ticks


def p1_only(args, server):
    p1 = throughput(args, server, "P1", args.p1, "sleep: 0s", ("--max-tasks", str(args.p1_max_tasks)),
                    profile=args.profile)
    return [p1]


def p1_p2(args, server):
    noop = "sleep: 0s"
    [p1] = p1_only(args, server)
    p2 = throughput(args, server, "P2", args.p1, noop,
                    ("--max-tasks", str(args.p1_max_tasks), "--commit-batch", "1"))
    p2["p1_over_p2"] = round(p1["processes_per_s"] / p2["processes_per_s"], 2)
    return [p1, p2]


def p3(args, server):
    three = throughput(args, server, "P3", args.p3, "sleep: 100ms", ("--max-tasks", "16"), runners=3)
    one = throughput(args, server, "P3one", args.p3, "sleep: 100ms", ("--max-tasks", "16"), runners=1)
    three["one_runner_wall_s"] = one["wall_s"]
    three["speedup"] = round(one["wall_s"] / three["wall_s"], 2)
    # The ideal: 3 tasks of 100 ms per process over 16 (or 48) slots.
    three["ideal_wall_s_3_runners"] = round(args.p3 * 0.3 / 48, 2)
    three["ideal_wall_s_1_runner"] = round(args.p3 * 0.3 / 16, 2)
    return [three, one]


def p4(args, server):
    fleet = Fleet(args, server, "p4", {"premium.yaml": definition("sleep: 0s")})
    try:
        fleet.start()
        hosts = fleet.hosts
        warm = {f"warm-{h.name}": (h, h.drop(f"warm-{h.name}")) for h in hosts}
        fleet.wait_status_files(warm)
        time.sleep(1)
        load_before = loadavg()
        interval = args.p4_interval_ms / 1000
        drops = {}
        start = time.time()
        for i in range(args.p4):
            pid = f"p4-{i:07d}"
            host = hosts[i % 3]
            host.write(pid)
            drops[pid] = (host, host.rename(pid))
            delay = start + (i + 1) * interval - time.time()
            if delay > 0:
                time.sleep(delay)
        files = fleet.wait_status_files(drops)
        fleet.check_success("p4-%", args.p4)
        first = dict(fleet.server.sql(
            "SELECT process_id, (extract(epoch FROM min(started_at)) * 1000)::numeric(20,3) FROM tasks "
            "WHERE process_id LIKE 'p4-%' GROUP BY process_id", fleet.db))
        pickup = [float(first[pid]) - renamed / 1e6 for pid, (_, renamed) in drops.items()]
        e2e = [(files[pid] - renamed) / 1e6 for pid, (_, renamed) in drops.items()]
        fleet.stop()
        return [{"name": "P4", "requests": args.p4, "interval_ms": args.p4_interval_ms,
                 "load": f"{load_before},{loadavg()}",
                 "pickup_p50_ms": round(percentile(pickup, 0.5), 2), "pickup_p99_ms": round(percentile(pickup, 0.99), 2),
                 "e2e_p50_ms": round(percentile(e2e, 0.5), 2), "e2e_p99_ms": round(percentile(e2e, 0.99), 2)}]
    finally:
        fleet.cleanup()


def p5(args, server):
    lease = "10s"
    definitions = {"premium.yaml": definition("sleep: 1s"), "tick.yaml": schedule_definition(args.p5_entries)}
    fleet = Fleet(args, server, "p5", definitions)
    result = {"name": "P5", "lease": lease, "rate_per_s": args.p5_rate}
    stop_dropping = threading.Event()
    dropped = []

    def dropper():
        i = 0
        start = time.time()
        while not stop_dropping.is_set():
            pid = f"p5-{i:07d}"
            host = fleet.hosts[i % 3]
            if host.proc.poll() is None:  # nobody drops into a dead host's inbox
                host.drop(pid)
                dropped.append(pid)
            i += 1
            delay = start + i / args.p5_rate - time.time()
            if delay > 0:
                time.sleep(delay)

    def owned(host):
        return [r[0] for r in server.sql(
            f"SELECT process_id FROM processes WHERE owner_runner = '{host.name}' AND status IN ('pending','running') "
            f"AND process_id LIKE 'p5-%'", fleet.db)]

    def leader():
        """The runner whose control connection holds an advisory lock (the leader's; the
        migration lock is taken on a pooled connection), from the database at once rather than
        from runner.json, which is rewritten every 2 s."""
        name = server.value(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            f"WHERE l.locktype = 'advisory' AND l.granted AND a.datname = '{fleet.db}' "
            "AND a.application_name LIKE '%/control' LIMIT 1")
        return next((h for h in fleet.hosts if name == f"spoolrunner/{h.name}/control"), None)

    def wait_started_elsewhere(victim, ids, killed_at, timeout=60):
        """Seconds from the kill to each process's first task start by another runner."""
        deadline = time.time() + timeout
        ids_sql = ",".join(f"'{i}'" for i in ids)
        while time.time() < deadline:
            rows = server.sql(
                f"SELECT process_id, extract(epoch FROM min(at)) FROM events WHERE process_id IN ({ids_sql}) "
                f"AND event = 'task_started' AND runner_id <> '{victim.name}' AND at > to_timestamp({killed_at}) "
                f"GROUP BY process_id", fleet.db)
            finished = {r[0] for r in server.sql(
                f"SELECT process_id FROM processes WHERE process_id IN ({ids_sql}) AND status IN "
                f"('success','failed','cancelled') AND owner_runner IS NULL", fleet.db)}
            if len(rows) + len(finished - {r[0] for r in rows}) >= len(ids):
                return [float(r[1]) - killed_at for r in rows]
            time.sleep(0.2)
        raise SystemExit(f"P5: processes of {victim.name} not restarted within {timeout} s")

    def record_takeover(prefix, victim, ids, killed_at):
        """How long the killed victim's processes took to start elsewhere; then the victim is
        started again and warmed up."""
        delays = wait_started_elsewhere(victim, ids, killed_at) if ids else []
        result[f"{prefix}_processes"] = len(ids)
        result[f"{prefix}_restart_elsewhere_max_s"] = round(max(delays), 2) if delays else None
        result[f"{prefix}_restart_elsewhere_p50_s"] = round(statistics.median(delays), 2) if delays else None
        victim.start(args, fleet.url, ("--lease", lease))
        fleet.wait_alive([victim])
        time.sleep(args.p5_warm)

    try:
        fleet.start(("--lease", lease))
        deadline = time.time() + 15
        while not leader() and time.time() < deadline:
            time.sleep(0.1)
        # Schedule slots are counted from here: a leader exists.
        window_start = time.time()
        load_before = loadavg()
        thread = threading.Thread(target=dropper, daemon=True)
        thread.start()
        time.sleep(args.p5_warm)
        # 1. The leader.
        victim = leader()
        if victim is None:
            raise SystemExit("P5: no runner says it leads")
        ids = owned(victim)
        killed_at = time.time()
        victim.kill()
        new_leader = None
        while time.time() < killed_at + 60:
            new_leader = leader()
            if new_leader:
                break
            time.sleep(0.05)
        result["new_leader_s"] = round(time.time() - killed_at, 2) if new_leader else None
        record_takeover("leader_kill", victim, ids, killed_at)
        # 2. Another runner, left down until its processes run elsewhere.
        victim = next(h for h in fleet.hosts if h is not leader())
        ids = owned(victim)
        killed_at = time.time()
        victim.kill()
        record_takeover("kill", victim, ids, killed_at)
        # 3. Killed and restarted at once on the same spool: it takes its own processes back.
        victim = next(h for h in fleet.hosts if h is not leader())
        ids = owned(victim)
        victim.kill()
        time.sleep(0.5)
        victim.start(args, fleet.url, ("--lease", lease))
        restarted_at = victim.started
        ids_sql = ",".join(f"'{i}'" for i in ids) or "''"
        deadline = time.time() + 30
        firsts = []
        while time.time() < deadline and ids:
            rows = server.sql(
                f"SELECT process_id, extract(epoch FROM min(at)) FROM events WHERE process_id IN ({ids_sql}) "
                f"AND event = 'task_started' AND runner_id = '{victim.name}' AND at > to_timestamp({restarted_at}) "
                f"GROUP BY process_id", fleet.db)
            if rows:
                firsts = [float(r[1]) - restarted_at for r in rows]
                break
            time.sleep(0.05)
        result["same_host_processes"] = len(ids)
        result["same_host_first_start_s"] = round(min(firsts), 2) if firsts else None
        recovered = server.value(
            f"SELECT count(*) FROM events WHERE event = 'recovered' AND runner_id = '{victim.name}'", fleet.db)
        result["same_host_recovered_events"] = int(recovered or 0)
        # Let the schedule cover --p5-minutes minute boundaries, then drain.
        time.sleep(max(0, 60 * args.p5_minutes + 1 - (time.time() - window_start)))
        stop_dropping.set()
        thread.join()
        fleet.wait_final(len(dropped), "p5-%", timeout=180)
        window_end = time.time()
        # Schedule slots: every minute boundary strictly inside the window, once per entry.
        rows = server.sql(
            "SELECT process_id, (SELECT count(*) FROM events e WHERE e.process_id = p.process_id AND e.event = 'accepted') "
            "FROM processes p WHERE process_type = 'tick'", fleet.db)
        present = {r[0]: int(r[1]) for r in rows}
        minutes = range(int(window_start // 60) + 1, int((window_end - 5) // 60) + 1)
        expected = {f"tick-e{e}-{time.strftime('%Y%m%dT%H%M', time.gmtime(m * 60))}"
                    for m in minutes for e in range(args.p5_entries)}
        result.update(schedule_minutes=len(minutes), schedule_slots_expected=len(expected),
                      schedule_slots_lost=len(expected - set(present)),
                      schedule_slots_duplicated=sum(1 for pid in present if present[pid] > 1),
                      schedule_slots_outside_window=len(set(present) - expected),
                      requests=len(dropped), load=f"{load_before},{loadavg()}")
        if args.p5_strict:
            fleet.check_success("p5-%", len(dropped))
        result["p5_not_success"] = int(server.value(
            "SELECT count(*) FROM processes WHERE process_id LIKE 'p5-%' AND status <> 'success'", fleet.db))
        fleet.stop()
        return [result]
    finally:
        stop_dropping.set()
        fleet.cleanup()


def p6(args, server):
    """A store of args.p6 processes: a few written by the real runner, cloned in SQL."""
    fleet = Fleet(args, server, "p6", {"premium.yaml": definition("sleep: 0s")}, names=("host-a",))
    n = args.p6
    try:
        fleet.start()
        host = fleet.hosts[0]
        seeds = {f"seed-{i}": (host, host.drop(f"seed-{i}")) for i in range(3)}
        fleet.wait_status_files(seeds)
        fleet.stop()
        started = time.time()
        # Three types, three weeks, 1 in 10 failed; 3 tasks and 2 events (accepted, the end) each.
        fleet.server.sql(f"""
            BEGIN;
            INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at, started_at,
                                   ended_at, updated_at, request_sha256, definition_sha256)
            SELECT 'h' || lpad(i::text, 8, '0'), (ARRAY['premium','basic','report'])[1 + i % 3],
                   CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'success' END, p.inputs_json, p.request_json,
                   t, t + interval '5 ms', t + interval '40 ms', t + interval '40 ms', p.request_sha256,
                   p.definition_sha256
              FROM generate_series(1, {n}) AS i,
                   LATERAL (SELECT now() - interval '21 days' + (i * interval '21 days' / {n}) AS t) AS at,
                   (SELECT * FROM processes WHERE process_id = 'seed-0') AS p;
            INSERT INTO tasks (process_id, task_name, position, mode, status, attempts, started_at, ended_at, exit_code)
            SELECT p.process_id, t.task_name, t.position, t.mode, CASE WHEN p.status = 'failed' AND t.position = 2
                   THEN 'failed' ELSE 'success' END, 1, p.started_at, p.ended_at, 0
              FROM processes p, (SELECT * FROM tasks WHERE process_id = 'seed-0') AS t WHERE p.process_id LIKE 'h%';
            INSERT INTO events (process_id, event, at, runner_id)
            SELECT process_id, 'accepted', created_at, 'host-a' FROM processes WHERE process_id LIKE 'h%';
            INSERT INTO events (process_id, event, at, runner_id)
            SELECT process_id, 'process_' || CASE WHEN status = 'failed' THEN 'failed' ELSE 'succeeded' END, ended_at,
                   'host-a' FROM processes WHERE process_id LIKE 'h%';
            COMMIT;
            """, fleet.db)
        fleet.server.sql("VACUUM ANALYZE", fleet.db)
        generated = round(time.time() - started, 1)
        size = fleet.server.value(f"SELECT pg_size_pretty(pg_database_size('{fleet.db}'))")
        mid = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 10 * 86400))
        mid_end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 10 * 86400 + 6 * 3600))
        probe = f"h{n // 2:08d}"
        queries = {
            "history newest 50": ["history", "--limit", "50"],
            "history --type basic": ["history", "--type", "basic", "--limit", "50"],
            "history --status failed": ["history", "--status", "failed", "--limit", "50"],
            "history 6 h range": ["history", "--since", mid, "--until", mid_end, "--limit", "50"],
            "events ID": ["events", probe],
            "status ID": ["status", probe, "--json"],
            # The URL without sslmode: `prefer`, the default, builds a TLS context (the system's CA
            # bundle) before connecting, even to a server that then declines TLS, as this one does.
            "history newest 50, sslmode=prefer": ["history", "--limit", "50"],
        }
        server.sql("SELECT pg_stat_statements_reset()")
        result = {"name": "P6", "processes": n, "generate_s": generated, "database_size": size,
                  "static_swift_runtime": args.static_runtime, "load": loadavg()}
        for label, argv in queries.items():
            times, cpu = [], []
            for _ in range(5):
                # CPU time (user + system) of the command beside its wall time: on a loaded machine
                # the wall time is mostly waiting for a core.
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.time()
                url = fleet.url.split("?")[0] if "sslmode=prefer" in label else fleet.url
                out = subprocess.run([args.binary, *argv, "--store", url], capture_output=True, text=True)
                times.append((time.time() - start) * 1000)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
                if out.returncode != 0:
                    raise SystemExit(f"P6 {label}: exit {out.returncode}: {out.stderr}")
            result[f"{label} cli_ms_median"] = round(statistics.median(times), 1)
            result[f"{label} cli_cpu_ms_median"] = round(statistics.median(cpu), 1)
        result["server_statements"] = [
            {"calls": int(r[0]), "mean_ms": float(r[1]), "max_ms": float(r[2]), "query": r[3]}
            for r in server.sql(
                "SELECT calls, round(mean_exec_time::numeric, 2), round(max_exec_time::numeric, 2), "
                "regexp_replace(left(query, 120), '\\s+', ' ', 'g') FROM pg_stat_statements "
                f"WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{fleet.db}') AND calls >= 5 "
                "AND query !~* '^(BEGIN|COMMIT|SET|SHOW|SELECT pg_|select version)' ORDER BY mean_exec_time DESC LIMIT 12")]
        result["load"] += "," + loadavg()
        return [result]
    finally:
        fleet.cleanup()


def p7(args, server):
    fleet = Fleet(args, server, "p7", {"premium.yaml": definition("sleep: 0s")})
    try:
        fleet.start()
        time.sleep(args.p7_settle)
        oid = server.value("SELECT oid FROM pg_database WHERE datname = 'p7'")

        def snapshot():
            calls = int(server.value(f"SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = {oid}"))
            plain = int(server.value(f"SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = {oid} "
                                     "AND query NOT IN ('BEGIN', 'COMMIT', 'ROLLBACK')"))
            commits = server.sql(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'p7'")[0][0]
            return time.time(), calls, int(commits), plain

        connections = server.sql(
            "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = 'p7' GROUP BY 1 ORDER BY 1")
        load_before = loadavg()
        t0, calls0, tx0, plain0 = snapshot()
        time.sleep(args.p7_seconds)
        t1, calls1, tx1, plain1 = snapshot()
        seconds = t1 - t0
        result = {"name": "P7", "seconds": round(seconds, 1), "load": f"{load_before},{loadavg()}",
                  "connections": {name: int(count) for name, count in connections},
                  "statements_per_s": round((calls1 - calls0) / seconds, 2),
                  "statements_per_s_without_begin_commit": round((plain1 - plain0) / seconds, 2),
                  "transactions_per_s": round((tx1 - tx0) / seconds, 2),
                  "top_statements": [
                      {"calls": int(r[0]), "query": r[1]} for r in server.sql(
                          "SELECT calls, regexp_replace(left(query, 100), '\\s+', ' ', 'g') FROM pg_stat_statements "
                          f"WHERE dbid = {oid} ORDER BY calls DESC LIMIT 8")]}
        fleet.stop()
        return [result]
    finally:
        fleet.cleanup()


WORKLOADS = {"ceiling": ceiling, "P1": p1_p2, "P1only": p1_only, "P3": p3, "P4": p4, "P5": p5, "P6": p6, "P7": p7}


def static_swift_runtime(binary):
    """Whether the binary carries the Swift runtime (no libswiftCore.so among its libraries)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    return "libswiftCore" not in out.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(REPO, ".build/release/spoolrunner"))
    parser.add_argument("--only", default="ceiling,P1,P3,P4,P5,P6,P7", help="P2 runs with P1 (P1only: without it)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every size")
    parser.add_argument("--p1", type=int, default=5000)
    parser.add_argument("--p1-max-tasks", type=int, default=16)
    parser.add_argument("--p3", type=int, default=1500)
    parser.add_argument("--p4", type=int, default=500)
    parser.add_argument("--p4-interval-ms", type=float, default=50)
    parser.add_argument("--p5-rate", type=float, default=6, help="requests/s dropped during P5")
    parser.add_argument("--p5-warm", type=float, default=5)
    parser.add_argument("--p5-entries", type=int, default=10)
    parser.add_argument("--p5-minutes", type=float, default=2, help="P5 lasts at least this many minutes")
    parser.add_argument("--p5-strict", action="store_true", help="fail unless every P5 request succeeded")
    parser.add_argument("--p6", type=int, default=1_000_000)
    parser.add_argument("--p7-seconds", type=float, default=60)
    parser.add_argument("--p7-settle", type=float, default=10)
    parser.add_argument("--ceiling-seconds", type=int, default=20)
    parser.add_argument("--ceiling-connections", default="3 6")
    parser.add_argument("--profile", action="store_true", help="perf, pg_stat_statements and wait events in P1")
    parser.add_argument("--serve-args", default="", help="more options for every runner, e.g. '--notify off'")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)
    args.serve_args = shlex.split(args.serve_args)
    for key in ("p1", "p3", "p4", "p6"):
        setattr(args, key, max(1, int(getattr(args, key) * args.scale)))
    if not os.access(args.binary, os.X_OK):
        raise SystemExit(f"{args.binary}: not built (swift build -c release)")
    for tool in ("psql", "pgbench"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} missing: apt-get install postgresql")
    args.static_runtime = static_swift_runtime(args.binary)
    log(f"binary {args.binary} (static swift runtime: {'yes' if args.static_runtime else 'no'}), "
        f"load {loadavg()}, {os.cpu_count()} cores")
    server = Server(args)
    try:
        for name in args.only.split(","):
            log(f"{name} ...")
            for result in WORKLOADS[name](args, server):
                result["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                print(json.dumps(result), flush=True)
                if args.json_out:
                    with open(args.json_out, "a") as f:
                        f.write(json.dumps(result) + "\n")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
