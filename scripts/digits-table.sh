#!/usr/bin/env bash
# The digits table: three presets x seeds 0-2 of the spiking networks, and the same-size ReLU
# MLP on the same split, into artifacts/digits/. Two runs at a time (2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example digits
bin=target/release/examples/digits
out=artifacts/digits
for seed in 0 1 2; do
    for preset in digits-w digits-ws digits-2l-ws; do
        "$bin" --quiet --preset "$preset" --seed "$seed" --out "$out/$preset-seed$seed" | tail -1 &
        while [ "$(jobs -rp | wc -l)" -ge 2 ]; do sleep 1; done
    done
    "$bin" --ann --seed "$seed" --out "$out/ann"
done
wait
rm -rf "$out"/*/checkpoint
