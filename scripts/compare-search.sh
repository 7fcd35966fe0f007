#!/usr/bin/env bash
# Hyper-parameter search of the surrogate-gradient baseline without delays at dt = 0.05 tau_s:
# surrogate slope x learning rate x readout, seed 0, 15 epochs on the full training split, chosen
# by validation accuracy. Writes artifacts/compare/search.csv (the log; search-runs.jsonl caches
# finished runs). Longer training of the best configurations: scripts/compare-search-300.sh.
# Usage: scripts/compare-search.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example compare
./target/release/examples/compare --search --dts 0.05 --baseline-epochs 15 \
  --search-slopes 2,5,10,25 --search-lrs 0.003,0.01,0.03,0.1 \
  --search-readouts first-spike,max-membrane --out artifacts/compare
