#!/usr/bin/env bash
# Wall time and peak memory of two builds of the yinyang example (h30-ws, 300 epochs, the
# README's main command), piped and in a pseudo-terminal (`script`, progress bar), interleaved
# so that both see the same machine. Build the old one from a scratch checkout, e.g.
#   git worktree add /tmp/old REV && (cd /tmp/old && cargo build --release --example yinyang)
# with the worktree's own target folder: a CARGO_TARGET_DIR shared with this checkout leaves the
# old build's binaries here, which cargo then judges fresh (it compares relative source paths).
# Usage: scripts/before-after.sh OLD_BINARY NEW_BINARY [ROUNDS]   (default 3)
# Prints one CSV row per run; train_seconds and test_accuracy come from the run's summary.json.
set -euo pipefail
old=$1 new=$2 rounds=${3:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck source=scripts/timing-common.sh
source "$(dirname "$0")/timing-common.sh"
echo "round,binary,mode,seconds,train_seconds,test_accuracy,peak_rss_kb"
for round in $(seq 1 "$rounds"); do
  for which in old new; do
    bin=${!which}
    for mode in piped terminal; do
      echo "$round,$which,$mode,$(timed_run "$mode" "$out/r" "$out" "$bin")"
    done
  done
done
