#!/usr/bin/env bash
# What a user sees: the README's main command (`cargo run --release --example yinyang`, h30-ws,
# 300 epochs) and its binary run directly, each piped and in a pseudo-terminal (`script`, the
# progress bar), interleaved so that all four see the same machine. The difference between the
# two is cargo's own start (checking that the build is fresh). Runs write to a scratch folder,
# not to artifacts/. Peak RSS of the cargo rows is cargo's, not the run's.
# Usage: scripts/readme-command-rounds.sh [ROUNDS]   (default 5; prints CSV)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --example yinyang
bin=target/release/examples/yinyang
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck source=scripts/timing-common.sh
source scripts/timing-common.sh
echo "round,how,mode,seconds,train_seconds,test_accuracy,peak_rss_kb"
for round in $(seq 1 "${1:-5}"); do
  for how in binary cargo-run; do
    for mode in piped terminal; do
      if [ "$how" = binary ]; then
        row=$(timed_run "$mode" "$out/r" "$out" "$bin")
      else
        row=$(timed_run "$mode" "$out/r" "$out" cargo run -q --release --example yinyang --)
      fi
      echo "$round,$how,$mode,$row"
    done
  done
done
