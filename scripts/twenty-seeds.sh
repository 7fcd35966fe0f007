#!/usr/bin/env bash
# The presets whose 3-seed results sit inside their seed-to-seed spread (h5-ws, hw-w, hw-wa),
# 20 seeds each (300 epochs), two runs at a time; each run is compacted to summary.json,
# metrics.csv and config.json, and the table goes to artifacts/twenty-seeds/results.{json,md}.
# Usage: scripts/twenty-seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example yinyang --example yinyang_table
out=artifacts/twenty-seeds
mkdir -p "$out"
run() {
  local dir="$out/$1-seed$2"
  if [ -f "$dir/summary.json" ]; then return; fi
  ./target/release/examples/yinyang --preset "$1" --seed "$2" --out "$dir" --quiet | tail -n 1
  find "$dir" -mindepth 1 -maxdepth 1 ! -name summary.json ! -name metrics.csv ! -name config.json \
    -exec rm -rf {} +
}
export -f run
export out
for preset in h5-ws hw-wa hw-w; do
  for seed in $(seq 0 19); do echo "$preset $seed"; done
done | xargs -P 2 -n 2 bash -c 'run "$0" "$1"'
./target/release/examples/yinyang_table "$out"
