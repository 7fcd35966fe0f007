#!/usr/bin/env bash
# Second stage of the baseline search (no delays, dt = 0.05 tau_s): the 15-epoch search's best
# configuration and its neighbours at the smaller learning rate 0.03 (the 15-epoch search favours
# large rates, which plateau), each trained for 300 epochs like DelGrad, seeds 0 to 2, two runs at
# a time. Chosen by mean validation accuracy. Writes artifacts/compare/search300/<config>/
# (runs.jsonl, table.md) and artifacts/compare/search300/search300.csv (the log).
# Usage: scripts/compare-search-300.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example compare
out=artifacts/compare/search300
mkdir -p "$out"
train() {
  ./target/release/examples/compare --no-delgrad --baseline-variants none --dts 0.05 \
    --baseline-epochs 300 --readout "$1" --slope "$2" --lr "$3" --seeds 3 \
    --out "$out/$1-s$2-lr$3" > "$out/$1-s$2-lr$3.log" 2>&1
  echo "done $1 slope $2 lr $3"
}
export -f train
export out
printf "max-membrane 25 0.1\nmax-membrane 25 0.03\nmax-membrane 10 0.03\nfirst-spike 5 0.03\n" |
  xargs -P 2 -n 3 bash -c 'train "$0" "$1" "$2"'
python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
rows = ["readout,slope,lr,seed,epochs,val_accuracy,test_accuracy,seconds_per_epoch,peak_rss_mib"]
for runs in sorted(out.glob("*/runs.jsonl")):
    readout, slope, lr = runs.parent.name.rsplit("-s", 1)[0], *runs.parent.name.rsplit("-s", 1)[1].split("-lr")
    for line in runs.read_text().splitlines():
        r = json.loads(line)
        rows.append(f"{readout},{slope},{lr},{r['seed']},{r['epochs']},{r['val_accuracy']:.4f},"
                    f"{r['test_accuracy']:.4f},{r['seconds_per_epoch']:.3f},{r['peak_rss_mib']:.1f}")
(out / "search300.csv").write_text("\n".join(rows) + "\n")
print("\n".join(rows))
PY
