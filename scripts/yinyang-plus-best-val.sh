#!/usr/bin/env bash
# Does selecting the best-validation epoch (--select best-val, early stopping on the validation
# split) help h30-ws-plus? Trains seeds 0-9 with it into RUNS (default scratch/yinyang-plus-best-val;
# seeds whose summary.json exists there are not retrained) and writes
# artifacts/yinyang-plus/best-val-selection.csv: per seed the selected epoch and the test accuracy
# with best-validation selection next to the committed final-epoch run's.
#   scripts/yinyang-plus-best-val.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-scratch/yinyang-plus-best-val}"
cargo build -q --release --example yinyang
mkdir -p "$RUNS"
train() {
  local s=$1 dir="$RUNS/h30-ws-plus-seed$1"
  [[ -f "$dir/summary.json" ]] && return 0
  RAYON_NUM_THREADS=1 target/release/examples/yinyang --preset h30-ws-plus --seed "$s" \
      --select best-val --quiet --out "$dir" > "$dir.log"
}
# Two runs at a time, one thread each.
for s in 0 2 4 6 8; do train "$s"; done &
for s in 1 3 5 7 9; do train "$s"; done
wait
python3 - "$RUNS" <<'PY'
import json, statistics, sys
runs = sys.argv[1]
rows, best, final = [], [], []
for s in range(10):
    b = json.load(open(f"{runs}/h30-ws-plus-seed{s}/summary.json"))
    f = json.load(open(f"artifacts/yinyang-plus/h30-ws-plus-seed{s}/summary.json"))
    best.append(100 * b["test_accuracy"])
    final.append(100 * f["test_accuracy"])
    rows.append(f"{s},{b['selected_epoch']},{best[-1]:.1f},{final[-1]:.1f}")
with open("artifacts/yinyang-plus/best-val-selection.csv", "w") as out:
    out.write("seed,selected_epoch,test_best_val,test_final_epoch\n" + "\n".join(rows) + "\n")
for name, v in (("best-val", best), ("final epoch", final)):
    print(f"{name}: {statistics.mean(v):.2f} +- {statistics.stdev(v):.2f} %, worst seed {min(v):.1f} %")
PY
