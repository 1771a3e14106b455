#!/usr/bin/env bash
# chaos.sh: SIGKILL the runner at random moments while requests keep arriving, then check that
# nothing was lost and nothing ran twice by accident (SPEC §6).
#
#   scripts/chaos.sh                       # the documented run: 2000 requests, 20 kills
#   REQUESTS=500 KILLS=10 scripts/chaos.sh # a quicker one
#   BIN=.build/debug/spoolrunner scripts/chaos.sh   # skip the release build
#   KEEP=1 scripts/chaos.sh                # keep the spool for a look afterwards
#   COMMIT_BATCH=7 scripts/chaos.sh        # small batches: most changes wait for a later one
#
# Workload: scripts/chaos-workload/ (shared with the crash tests): a sync/async chain; a ledger
# whose `charge` task is idempotent: false and appends its process id to one shared ledger file;
# a flaky task that succeeds on its second attempt; a failing task with on_failure. Every task
# appends "<task> <attempt>" to runs.log in its work directory.
# Checks: every request has exactly one status file, in a final state, and one processes row;
# inbox/ is empty; no task ran more often than its recorded attempts; the ledger has at most one
# line per process, exactly one when `charge` succeeded; PRAGMA integrity_check is ok; and, since
# the runner's death is not a task's failure (SPEC §6), every process of the types whose tasks are
# all idempotent (chain, flaky) ends `success`, and `interrupted` comes only from `charge`.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-2000}
KILLS=${KILLS:-20}
COMMIT_BATCH=${COMMIT_BATCH:-500}
MIN_RUN_MS=${MIN_RUN_MS:-100}
MAX_RUN_MS=${MAX_RUN_MS:-1500}
if [ -z "${BIN:-}" ]; then
    swift build -c release >/dev/null
    BIN=.build/release/spoolrunner
fi
BIN=$(realpath "$BIN")

work=$(mktemp -d /tmp/spoolrunner-chaos.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
spool=$work/spool
defs=$work/definitions
ledger=$work/ledger.txt
mkdir -p "$defs"
log=$work/runner.log

cp scripts/chaos-workload/*.yaml "$defs/"

"$BIN" validate --definitions "$defs" >/dev/null
"$BIN" init "$work" >/dev/null   # creates the spool directories (its example definition goes unused)
rm -f "$work/definitions/hello.yaml"

types=(chain ledger flaky doomed)
drop() {  # drop FROM TO: requests FROM..TO-1, written in tmp/ then renamed into inbox/
    local i id
    for ((i = $1; i < $2; i++)); do
        id=$(printf 'req-%06d' "$i")
        printf '{"process_type": "%s"}\n' "${types[i % 4]}" >"$spool/tmp/$id.json"
        mv "$spool/tmp/$id.json" "$spool/inbox/$id.json"
    done
}

start=$(date +%s.%N)
killed=0
for ((k = 0; k < KILLS; k++)); do
    drop $((k * REQUESTS / KILLS)) $(((k + 1) * REQUESTS / KILLS))
    "$BIN" serve --spool "$spool" --definitions "$defs" --rescan 100ms --settle 0s --commit-batch "$COMMIT_BATCH" 2>>"$log" &
    pid=$!
    ms=$((MIN_RUN_MS + RANDOM % (MAX_RUN_MS - MIN_RUN_MS + 1)))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2>/dev/null || true
done
"$BIN" serve --once --spool "$spool" --definitions "$defs" --settle 0s --commit-batch "$COMMIT_BATCH" 2>>"$log"
end=$(date +%s.%N)

python3 - "$spool" "$ledger" "$REQUESTS" "$killed" "$start" "$end" <<'PY'
import json, os, sqlite3, sys
spool, ledger_path, total, killed, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
ids = ["req-%06d" % i for i in range(total)]
db = sqlite3.connect(os.path.join(spool, "history.sqlite"))
problems = []
integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
if integrity != "ok": problems.append("integrity_check: " + integrity)
rows = {}
for pid, ptype, status in db.execute("SELECT process_id, process_type, status FROM processes"):
    rows.setdefault(pid, []).append((ptype, status))
tasks = {}
for pid, name, status, attempts in db.execute("SELECT process_id, task_name, status, attempts FROM tasks"):
    tasks.setdefault(pid, []).append((name, status, attempts))
ledger = {}
if os.path.exists(ledger_path):
    for line in open(ledger_path):
        line = line.strip()
        if line: ledger[line] = ledger.get(line, 0) + 1
lost = duplicated = reran = idempotent_not_success = 0
idempotent_only = {"chain", "flaky"}
outcomes = {}
for pid in ids:
    path = os.path.join(spool, "outbox", pid + ".json")
    try:
        doc = json.load(open(path))
    except Exception as error:
        problems.append(f"{pid}: no readable status file ({error})"); lost += 1; continue
    if doc["status"] not in ("success", "failed", "cancelled", "rejected"):
        problems.append(f"{pid}: status {doc['status']}"); lost += 1
    key = (doc.get("error") or {}).get("code") or doc["status"]
    outcomes[key] = outcomes.get(key, 0) + 1
    if doc["process_type"] in idempotent_only and doc["status"] != "success":
        problems.append(f"{pid}: {doc['process_type']} (idempotent tasks only) ended {key}"); idempotent_not_success += 1
    if key == "interrupted" and (doc.get("error") or {}).get("task") != "charge":
        problems.append(f"{pid}: interrupted by task {(doc.get('error') or {}).get('task')}, which is idempotent")
    if len(rows.get(pid, [])) != 1:
        problems.append(f"{pid}: {len(rows.get(pid, []))} processes rows"); lost += 1
    runs = []
    runs_path = os.path.join(spool, "work", pid, "runs.log")
    if os.path.exists(runs_path):
        runs = [line.split()[0] for line in open(runs_path) if line.strip()]
    for name, status, attempts in tasks.get(pid, []):
        executions = runs.count(name)
        if executions > attempts:
            problems.append(f"{pid}/{name}: ran {executions} times, {attempts} attempts recorded"); reran += 1
        if name == "charge":
            lines = ledger.get(pid, 0)
            if lines > 1 or (status == "success" and lines != 1):
                problems.append(f"{pid}/charge: {status} with {lines} ledger lines"); duplicated += 1
inbox = [n for n in os.listdir(os.path.join(spool, "inbox")) if n != ".gitkeep"]
if inbox: problems.append(f"inbox not empty: {len(inbox)} files")
print(f"requests={total} kills={killed} seconds={end - start:.1f} lost={lost} duplicated={duplicated} reran_beyond_attempts={reran} idempotent_not_success={idempotent_not_success} inbox_left={len(inbox)} integrity={integrity}")
print("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
for problem in problems[:20]: print("PROBLEM " + problem)
sys.exit(1 if problems else 0)
PY
