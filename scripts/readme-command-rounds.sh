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
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$@"; }
echo "round,how,mode,seconds,train_seconds,test_accuracy,peak_rss_kb"
for round in $(seq 1 "${1:-5}"); do
  for how in binary cargo-run; do
    if [ "$how" = binary ]; then
      cmd="$bin --out $out/r"
    else
      cmd="cargo run -q --release --example yinyang -- --out $out/r"
    fi
    for mode in piped terminal; do
      rm -rf "$out/r"
      if [ "$mode" = piped ]; then
        # shellcheck disable=SC2086  # the command's words are meant to split
        /usr/bin/time -o "$out/time" -f "%e %M" $cmd | cat > /dev/null
      else
        script -qec "/usr/bin/time -o $out/time -f '%e %M' $cmd" /dev/null > /dev/null
      fi
      read -r seconds rss < "$out/time"
      echo "$round,$how,$mode,$seconds,$(field "$out/r/summary.json" train_seconds),$(field "$out/r/summary.json" test_accuracy),$rss"
    done
  done
done
