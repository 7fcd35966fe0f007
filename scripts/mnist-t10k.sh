#!/usr/bin/env bash
# MNIST 16x16 on a fixed, seeded, stratified 60/20/20 split of the 10,000-image MNIST test file
# (the only MNIST files on the machines this project is developed on): the spiking network with
# and without synaptic delays, and the same-size ReLU MLP, seed 0, into artifacts/mnist/.
# Usage: scripts/mnist-t10k.sh DIR_WITH_T10K_FILES
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: scripts/mnist-t10k.sh DIR_WITH_T10K_FILES}
cargo build --release --example mnist
bin=target/release/examples/mnist
out=artifacts/mnist
for preset in mnist16-w mnist16-ws; do
    # Peak memory (maximum resident set size) of the whole process, from GNU time.
    /usr/bin/time -f "$preset peak RSS %M KiB, wall %e s" \
        "$bin" --quiet --data "$data" --preset "$preset" --seed 0 --out "$out/$preset-seed0" \
        2>&1 | tail -2
done
"$bin" --ann --data "$data" --seed 0 --out "$out/ann"
rm -rf "$out"/*/checkpoint
