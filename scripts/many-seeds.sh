#!/usr/bin/env bash
# The presets whose 3-seed results sit inside their seed-to-seed spread, over many seeds
# (300 epochs each): h5-ws seeds 0-19, hw-w and hw-wa seeds 0-39; two runs at a time; each run is
# compacted to summary.json, metrics.csv and config.json, and the table goes to
# artifacts/many-seeds/results.{json,md}.
# Usage: scripts/many-seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example yinyang --example yinyang_table
out=artifacts/many-seeds
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
{
  for seed in $(seq 0 19); do echo "h5-ws $seed"; done
  for preset in hw-wa hw-w; do
    for seed in $(seq 0 39); do echo "$preset $seed"; done
  done
} | xargs -P 2 -n 2 bash -c 'run "$0" "$1"'
./target/release/examples/yinyang_table "$out"
