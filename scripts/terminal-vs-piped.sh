#!/usr/bin/env bash
# Wall time of the README's main command (h30-ws, 300 epochs) piped, in a pseudo-terminal with
# the default progress bar, and in a pseudo-terminal with Burn's dashboard (--dashboard),
# interleaved so that all three see the same machine. Prints one CSV row per run.
# Usage: scripts/terminal-vs-piped.sh [REPEATS] [--no-dashboard]   (default 2)
# --no-dashboard leaves out the dashboard runs, whose busy polling can slow the runs after them.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --example yinyang
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
now() { date +%s.%N; }
echo "mode,seconds"
dashboard=1
[ "${2:-}" = --no-dashboard ] && dashboard=0
for _ in $(seq 1 "${1:-2}"); do
  rm -rf "$out/r"; s=$(now)
  cargo run -q --release --example yinyang -- --out "$out/r" | cat > /dev/null
  echo "piped,$(echo "$(now) - $s" | bc)"
  rm -rf "$out/r"; s=$(now)
  script -qec "cargo run -q --release --example yinyang -- --out $out/r" /dev/null > /dev/null
  echo "terminal (progress bar),$(echo "$(now) - $s" | bc)"
  [ "$dashboard" = 1 ] || continue
  rm -rf "$out/r"; s=$(now)
  script -qec "cargo run -q --release --example yinyang -- --out $out/r --dashboard" /dev/null > /dev/null
  echo "terminal (--dashboard),$(echo "$(now) - $s" | bc)"
done
