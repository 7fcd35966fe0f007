#!/usr/bin/env bash
# Ablation of the weight-bumping rule: the ideal presets with --bump-rule neuron (a neuron silent
# for more than the threshold's fraction of the batch triggers a bump), 3 seeds, 300 epochs.
# Writes artifacts/yinyang-bump-neuron/ and its results.{md,json}.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example yinyang --example yinyang_table
for preset in h30-w h30-wa h30-ws h5-ws; do
  for seed in 0 1 2; do
    out="artifacts/yinyang-bump-neuron/${preset}-seed${seed}"
    if [ -f "$out/summary.json" ]; then echo "skip $out (done)"; continue; fi
    ./target/release/examples/yinyang --preset "$preset" --seed "$seed" --bump-rule neuron \
      --out "$out" --quiet | tail -n 1
  done
done
./target/release/examples/yinyang_table artifacts/yinyang-bump-neuron
