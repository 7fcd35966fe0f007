#!/usr/bin/env bash
# Benchmarks of issue 6; results in artifacts/bench/. Run on an otherwise idle machine.
#   scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf target/criterion
cargo bench --bench spike_op
cargo run --release --example bench_summary -- target/criterion artifacts/bench
# Work count, unit costs and bare-kernel epoch time (writes artifacts/bench/floor.json).
cargo bench --bench floor
# End to end: a 300-epoch h30-ws run (train_seconds in its summary.json), three times.
cargo build --release --example yinyang
for k in 1 2 3; do
  rm -rf "scratch/bench-h30-ws-$k"
  /usr/bin/time -v target/release/examples/yinyang --preset h30-ws --quiet \
      --out "scratch/bench-h30-ws-$k" 2> "scratch/bench-h30-ws-$k.time" | tail -1
  grep -E "Elapsed|Maximum resident" "scratch/bench-h30-ws-$k.time"
done
