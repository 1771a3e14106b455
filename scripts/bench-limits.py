#!/usr/bin/env python3
"""What this machine can do at best for each step a process takes, with only the unavoidable
syscalls (issue 10: the physical limits beside the targets in BENCHMARKS.md).

  status files   create a ~900-byte file + rename it into a directory (one per process), and the
                 same rewritten over an existing file (what a second status write costs)
  inbox          unlink of a request file (each accepted request leaves inbox/ this way)
  sqlite         commits/s of a one-row transaction in WAL with synchronous=FULL, and processes/s
                 of 13 rows each (1 process, 3 tasks, 9 events) at 50 processes per commit
  spawn          posix_spawn + wait of /bin/true one at a time, and `xargs -P N true`

Usage: scripts/bench-limits.py [--n 3000] [--dir DIR (default: a temp dir under TMPDIR)]
"""
import argparse, os, shutil, sqlite3, subprocess, tempfile, time


def status_files(root, n):
    out = os.path.join(root, "outbox")
    os.mkdir(out)
    fd_dir = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    data = b"x" * 900
    results = {}
    for label, name_of in (("create+rename new", lambda i: f"p{i}.json"), ("create+rename over", lambda i: f"p{i}.json")):
        start = time.perf_counter()
        for i in range(n):
            fd = os.open(f".tmp{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd_dir)
            os.write(fd, data)
            os.close(fd)
            os.rename(f".tmp{i}", name_of(i), src_dir_fd=fd_dir, dst_dir_fd=fd_dir)
        results[label] = (time.perf_counter() - start) / n * 1000
    os.close(fd_dir)
    return results


def inbox_unlink(root, n):
    inbox = os.path.join(root, "inbox")
    os.mkdir(inbox)
    for i in range(n):
        with open(f"{inbox}/r{i}.json", "w") as f:
            f.write('{"process_type": "premium", "user_id": "user_123"}')
    start = time.perf_counter()
    for i in range(n):
        os.unlink(f"{inbox}/r{i}.json")
    return (time.perf_counter() - start) / n * 1000


def sqlite_commits(root, n):
    db = sqlite3.connect(os.path.join(root, "limits.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, process_id TEXT, a TEXT, b TEXT, c TEXT)")
    db.execute("CREATE INDEX t_by_process ON t(process_id, id)")
    start = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (process_id, a, b, c) VALUES (?, 'task_started', '2026-11-30T06:00:00.000Z', NULL)",
                   (f"p{i}",))
        db.execute("COMMIT")
    commits = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for batch in range(0, n, 50):
        db.execute("BEGIN IMMEDIATE")
        for i in range(batch, min(n, batch + 50)):
            db.executemany("INSERT INTO t (process_id, a, b, c) VALUES (?, 'x', '2026-11-30T06:00:00.000Z', '{}')",
                           [(f"q{i}",)] * 13)
        db.execute("COMMIT")
    processes = n / (time.perf_counter() - start)
    db.close()
    return commits, processes


def spawns(n, parallel):
    start = time.perf_counter()
    for _ in range(n):
        pid = os.posix_spawn("/bin/true", ["true"], os.environ)
        os.waitpid(pid, 0)
    serial = n / (time.perf_counter() - start)
    start = time.perf_counter()
    subprocess.run(f"seq {n} | xargs -P {parallel} -n 1 true", shell=True, check=True)
    return serial, n / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--dir")
    p.add_argument("--xargs-p", type=int, default=4)
    args = p.parse_args()
    root = tempfile.mkdtemp(prefix="spoolrunner-limits-", dir=args.dir)
    try:
        before = os.getloadavg()[0]
        files = status_files(root, args.n)
        unlink_ms = inbox_unlink(root, args.n)
        commits, processes = sqlite_commits(root, args.n)
        serial, xargs = spawns(args.n, args.xargs_p)
        print(f"limits n={args.n} cores={os.cpu_count()} load={before:.2f},{os.getloadavg()[0]:.2f} "
              f"status_create_ms={files['create+rename new']:.3f} status_rewrite_ms={files['create+rename over']:.3f} "
              f"inbox_unlink_ms={unlink_ms:.3f} sqlite_commits_per_s={commits:.0f} "
              f"sqlite_processes_per_s_at_50_per_commit={processes:.0f} "
              f"spawn_serial_per_s={serial:.0f} xargs_p{args.xargs_p}_per_s={xargs:.0f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
