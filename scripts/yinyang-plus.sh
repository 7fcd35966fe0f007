#!/usr/bin/env bash
# The paper's four Yin-Yang presets and their `-plus` counterparts (same networks, parameters and
# data; our training procedure), seeds 0 to 9, side by side: runs go to
# artifacts/yinyang-plus/<preset>-seed<seed> (kept: summary.json, metrics.csv, config.json), two
# at a time with one thread each, then yinyang_table writes results.{md,json} and
# test_accuracy_by_seed.png there.
# Usage: scripts/yinyang-plus.sh [PRESET...]   (default: all eight)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example yinyang --example yinyang_table
out=artifacts/yinyang-plus
mkdir -p "$out"
run() {
  local preset=$1 seed=$2
  local run_dir="$out/$preset-seed$seed"
  if [ -f "$run_dir/summary.json" ]; then return; fi
  RAYON_NUM_THREADS=1 ./target/release/examples/yinyang --preset "$preset" --seed "$seed" \
    --out "$run_dir" --quiet | tail -n 1
  find "$run_dir" -mindepth 1 -maxdepth 1 ! -name summary.json ! -name metrics.csv \
    ! -name config.json -exec rm -rf {} +
}
export -f run
export out
presets=("$@")
if [ ${#presets[@]} -eq 0 ]; then
  presets=(h30-ws h30-wa h30-w h5-ws h30-ws-plus h30-wa-plus h30-w-plus h5-ws-plus)
fi
for preset in "${presets[@]}"; do
  for seed in $(seq 0 9); do echo "$preset $seed"; done
done | xargs -P 2 -L 1 bash -c 'run "$@"' _
./target/release/examples/yinyang_table "$out"
