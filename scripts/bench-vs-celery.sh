#!/usr/bin/env bash
# spoolrunner against the Celery + Redis peer, on this machine, in one run (issue 10).
#
#   scripts/bench-vs-celery.sh                      # release build, N as in the issue, 1 run each
#   RUNS=3 scripts/bench-vs-celery.sh               # 3 runs of each side; medians compared
#   BIN=.build/release/spoolrunner N=500 scripts/bench-vs-celery.sh
#
# The peer (../shared/peers/celery/bench.sh) needs redis-server and a venv with its pinned pip
# packages (VENV, default /tmp/celery-peer-venv): this script installs what is missing, as the
# peer's README says (apt-get redis-server python3-venv as root; pip install -r
# requirements.lock.txt into the venv). INSTALL=0 only checks. The peer then runs its best configuration for each task kind: prefork 2 for no-op tasks,
# threads 16 for 10 ms tasks, Redis without persistence. Then scripts/bench.py runs W1 (built-in
# no-op tasks), W2 (/bin/true per task, beside xargs -P) and W3 (10 ms tasks, --max-tasks 16 and
# 256). Every spoolrunner commit is fsynced (synchronous=FULL); the peer's Redis is not.
#
# Knobs: PEER (peer folder), BIN (spoolrunner binary; default: build release), RUNS (1),
# N_PEER (processes per peer run, 2000), W1/W2/W3 (5000/2000/1000), OUT (JSON lines, default under
# TMPDIR), LOADAVG_MAX (wait, up to 10 minutes, until the 1-minute load average is below it; unset: no wait).
set -euo pipefail
cd "$(dirname "$0")/.."

PEER=${PEER:-../shared/peers/celery}
[ -d "$PEER" ] || PEER=/work/shared/peers/celery
RUNS=${RUNS:-1}
N_PEER=${N_PEER:-2000}
W1=${W1:-5000}
W2=${W2:-2000}
W3=${W3:-1000}
OUT=${OUT:-${TMPDIR:-/tmp}/bench-vs-celery-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

VENV=${VENV:-/tmp/celery-peer-venv}
export VENV
need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    [ "${INSTALL:-1}" = 1 ] && [ "$(id -u)" = 0 ] \
        || { echo "the Celery peer needs ${need_apt[*]}: apt-get install -y ${need_apt[*]} (as root)" >&2; exit 1; }
    echo "# installing ${need_apt[*]} for the Celery peer" >&2
    # The package's own redis service is not used (the peer starts its own on a free port);
    # in containers policy-rc.d refuses to start it anyway.
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_apt[@]}" >&2 \
        || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_apt[@]}" >&2; }
fi
if ! "$VENV/bin/python" -c 'import celery, kombu, redis' 2>/dev/null; then
    [ "${INSTALL:-1}" = 1 ] \
        || { echo "no Celery venv at $VENV: python3 -m venv $VENV && $VENV/bin/pip install -r $PEER/requirements.lock.txt" >&2; exit 1; }
    echo "# creating the Celery peer's venv at $VENV" >&2
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install --quiet -r "$PEER/requirements.lock.txt" >&2
fi

if [ -z "${BIN:-}" ]; then
    swift build -c release --product spoolrunner >&2
    BIN=$(swift build -c release --show-bin-path)/spoolrunner
fi

wait_quiet() {
    [ -n "${LOADAVG_MAX:-}" ] || return 0
    for _ in $(seq 60); do
        awk -v max="$LOADAVG_MAX" '{ exit !($1 < max) }' /proc/loadavg && return 0
        sleep 10
    done
    echo "# load average still $(cut -d' ' -f1 /proc/loadavg) after 10 minutes; measuring anyway" >&2
}

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# spoolrunner $("$BIN" --version) ($BIN); results in $OUT" >&2

for run in $(seq "$RUNS"); do
    wait_quiet
    echo "# run $run: Celery peer (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    (cd "$PEER" && RUNS=1 N_LIST="$N_PEER" SLEEPS="0" VARIANTS="prefork:2:none" SERIAL_N=0 \
        OUT="$OUT/celery.jsonl" bash bench.sh >&2)
    (cd "$PEER" && RUNS=1 N_LIST="$N_PEER" SLEEPS="10" VARIANTS="threads:16:none" SERIAL_N=0 \
        OUT="$OUT/celery.jsonl" bash bench.sh >&2)
    wait_quiet
    echo "# run $run: spoolrunner W1 W2 W3 (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    python3 scripts/bench.py --binary "$BIN" --only W1,W2,W3 --w1 "$W1" --w2 "$W2" --w3 "$W3" \
        --json-out "$OUT/spoolrunner.jsonl" >&2
done

python3 - "$OUT" <<'EOF'
import json, statistics, sys
out = sys.argv[1]
celery = [json.loads(l) for l in open(f"{out}/celery.jsonl") if l.strip()]
ours = [json.loads(l) for l in open(f"{out}/spoolrunner.jsonl") if l.strip()]
def median(rows, key):
    values = [r[key] for r in rows]
    return statistics.median(values) if values else float("nan")
noop = [r for r in celery if r["mode"] == "burst" and r["sleep_ms"] == 0 and r["ok"]]
ten = [r for r in celery if r["mode"] == "burst" and r["sleep_ms"] == 10 and r["ok"]]
c_noop, c_ten = median(noop, "processes_per_s"), median(ten, "processes_per_s")
w1 = median([r for r in ours if r["workload"] == "W1"], "processes_per_s")
w2rows = [r for r in ours if r["workload"] == "W2"]
w2, w2_ratio = median(w2rows, "processes_per_s"), median(w2rows, "spawn_ratio")
w3_16 = median([r for r in ours if r["workload"] == "W3" and r["max_tasks"] == 16], "processes_per_s")
w3_256 = median([r for r in ours if r["workload"] == "W3" and r["max_tasks"] == 256], "processes_per_s")
print(f"| workload | spoolrunner processes/s | Celery processes/s (configuration) | ratio | target |")
print(f"| --- | --- | --- | --- | --- |")
print(f"| W1 no-op tasks | {w1:.0f} | {c_noop:.0f} (prefork 2, no persistence) | {w1 / c_noop:.1f}x | 20x |")
print(f"| W2 /bin/true per task | {w2:.0f} | {c_noop:.0f} (prefork 2, no-op Python tasks) | {w2 / c_noop:.1f}x | - |")
print(f"| W2 spawns/s vs xargs -P | {median(w2rows, 'runner_spawns_per_s'):.0f} | xargs: {median(w2rows, 'xargs_spawns_per_s'):.0f} | {w2_ratio:.0%} | 80% |")
print(f"| W3 10 ms tasks, --max-tasks 16 | {w3_16:.0f} | {c_ten:.0f} (threads 16, no persistence) | {w3_16 / c_ten:.1f}x | - |")
print(f"| W3 10 ms tasks, --max-tasks 256 | {w3_256:.0f} | {c_ten:.0f} (threads 16, no persistence) | {w3_256 / c_ten:.1f}x | 10x |")
print(f"runs: Celery {len(noop)} + {len(ten)}, spoolrunner {len(ours)} results; medians; raw in {out}")
EOF
