#!/usr/bin/env bash
# The presets whose 3-seed results sit inside their seed-to-seed spread, over many seeds
# (300 epochs each): h5-ws, hw-w and hw-wa with seeds 0-39 into artifacts/many-seeds/, and h5-ws
# under the reference's bumping rule (`--bump-rule layer`) with seeds 0-39 into
# artifacts/many-seeds-h5-ws-layer-rule/, and the h5-ws network with h30-ws's learning rates
# (`--preset h30-ws --hidden 5`) into artifacts/many-seeds-h5-h30ws-lrs/; two runs at a time;
# each run is compacted to summary.json, metrics.csv and config.json (and model.json for the
# chip-aware presets, whose accuracy depends on the noise draw), each directory gets
# results.{json,md}, and artifacts/many-seeds/test_accuracy_by_seed.png draws them all.
# Usage: scripts/many-seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example yinyang --example yinyang_table
out=artifacts/many-seeds
layer_out=artifacts/many-seeds-h5-ws-layer-rule
lrs_out=artifacts/many-seeds-h5-h30ws-lrs
mkdir -p "$out" "$layer_out" "$lrs_out"
run() {
  local dir=$1 preset=$2 seed=$3
  shift 3
  local run_dir="$dir/$preset-seed$seed"
  if [ -f "$run_dir/summary.json" ]; then return; fi
  ./target/release/examples/yinyang --preset "$preset" --seed "$seed" --out "$run_dir" --quiet "$@" \
    | tail -n 1
  local keep=()
  # A chip-aware network's accuracy depends on the noise draw: keep the network (8 KB), so that
  # it can be evaluated over more draws later without training it again.
  case $preset in hw-*) keep=(! -name model.json) ;; esac
  find "$run_dir" -mindepth 1 -maxdepth 1 ! -name summary.json ! -name metrics.csv \
    ! -name config.json ${keep[@]+"${keep[@]}"} -exec rm -rf {} +
}
export -f run
{
  for seed in $(seq 0 79); do echo "$out h5-ws $seed"; done
  for seed in $(seq 0 79); do echo "$layer_out h5-ws $seed --bump-rule layer"; done
  for seed in $(seq 0 39); do echo "$lrs_out h30-ws $seed --hidden 5"; done
  for preset in hw-wa hw-w; do
    for seed in $(seq 0 39); do echo "$out $preset $seed"; done
  done
} | xargs -P 2 -L 1 bash -c 'run "$@"' _
./target/release/examples/yinyang_table "$out" "$layer_out" "$lrs_out"
