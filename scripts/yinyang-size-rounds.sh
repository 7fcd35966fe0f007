#!/usr/bin/env bash
# Interleaved rounds of the Yin-Yang-size part of scripts/bench-vs-reference.sh (4-30-3, batch
# 150, synaptic delays and none, 1 and 2 threads): the reference and delgrad alternate, so that
# the spread of their ratio over a stretch of machine time shows. Run
# scripts/bench-vs-reference.sh once first: it sets up the reference checkout and its Python
# environment, which this script reuses (same REF_DIR, REF_COMMIT, VENV defaults).
# Usage: scripts/yinyang-size-rounds.sh [ROUNDS] > rows.jsonl   (default 3 rounds)
# Each output row is one implementation's JSON row with its round number added.
set -euo pipefail
rounds=${1:-3}
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
scratch="${TMPDIR:-/tmp}/delgrad-reference"
REF_DIR="${REF_DIR:-$scratch/fastAndDeep}"
REF_COMMIT="${REF_COMMIT:-33e4876dcf3c4164d5453e2196892f5d39e86161}"
VENV="${VENV:-$scratch/venv}"
[[ -x "$VENV/bin/python" && -d "$REF_DIR/src" ]] \
    || { echo "error: run scripts/bench-vs-reference.sh first (no $VENV or $REF_DIR)" >&2; exit 1; }
cargo build --release --example scaling >&2
scaling=target/release/examples/scaling
grep -qF "$repo_root/src/kernel.rs" "$scaling.d" \
    || { echo "error: $scaling was built from another checkout; touch src/kernel.rs" >&2; exit 1; }
for round in $(seq 1 "$rounds"); do
    for t in 1 2; do
        OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t NUMBA_NUM_THREADS=$t \
            "$VENV/bin/python" scripts/reference_scaling.py --reference "$REF_DIR" \
            --commit "$REF_COMMIT" --threads "$t" --networks 4-30-3 \
            | sed "s/^{/{\"round\":$round,/"
        "$scaling" --threads "$t" --networks 4-30-3 --delays synaptic,none \
            | sed "s/^{/{\"round\":$round,/"
    done
done
