#!/usr/bin/env bash
# Trains every paper preset for 3 seeds (300 epochs each) and aggregates the results into
# artifacts/yinyang/results.{json,md}. Usage: scripts/yinyang-table.sh [presets...]
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("${@:-h30-w h30-wa h30-ws h5-ws}")
cargo build --release --example yinyang --example yinyang_table
for preset in ${presets[@]}; do
  for seed in 0 1 2; do
    out="artifacts/yinyang/${preset}-seed${seed}"
    if [ -f "$out/summary.json" ]; then echo "skip $out (done)"; continue; fi
    ./target/release/examples/yinyang --preset "$preset" --seed "$seed" --out "$out" --quiet | tail -n 1
  done
done
./target/release/examples/yinyang_table artifacts/yinyang
