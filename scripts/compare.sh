#!/usr/bin/env bash
# DelGrad against the discrete-time surrogate-gradient baselines on Yin-Yang (4-30-3), as in
# README section "DelGrad against surrogate gradients". Stages 1 and 2 use the best configuration
# of scripts/compare-search.sh (max-membrane readout, fast-sigmoid slope 25, lr 0.1; the delays'
# lr 0.03 was not searched). Every run is a child process whose peak RSS (VmHWM) is recorded;
# finished runs are cached in runs.jsonl of each output directory, so a rerun resumes.
# Usage: scripts/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example compare
best=(--readout max-membrane --slope 25 --lr 0.1 --lr-delays 0.03)
# 1. The best configuration without delays at dt = 0.05 given more epochs (acceptance check).
./target/release/examples/compare "${best[@]}" --no-delgrad --baseline-variants none \
  --dts 0.05 --seeds 3 --baseline-epochs 60 --out artifacts/compare/long
# 2. The grid: DelGrad h30-w / h30-ws (300 epochs) and the baselines without and with learnable
#    synaptic delays (linear taps) at four step sizes, 20 epochs each (the compute budget), 3 seeds.
./target/release/examples/compare "${best[@]}" --dts 0.1,0.05,0.02,0.01 --seeds 3 \
  --baseline-epochs 20 --delgrad-epochs 300 --out artifacts/compare
# 3. Side by side at 300 epochs, like DelGrad, with the second stage's choice
#    (scripts/compare-search-300.sh: max-membrane, slope 25, lr 0.03) at dt = 0.1 and 0.05,
#    without and with learnable synaptic delays, 3 seeds. About 80 minutes of one core;
#    artifacts/compare/epochs300/runs.jsonl caches the finished runs.
./target/release/examples/compare --readout max-membrane --slope 25 --lr 0.03 --lr-delays 0.03 \
  --dts 0.1,0.05 --seeds 3 --baseline-epochs 300 --delgrad-epochs 300 --out artifacts/compare/epochs300
