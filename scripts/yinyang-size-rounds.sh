#!/usr/bin/env bash
# Interleaved rounds of the Yin-Yang-size part of scripts/bench-vs-reference.sh (4-30-3, batch
# 150, synaptic delays and none, 1 and 2 threads): the reference and delgrad alternate, so that
# the spread of their ratio over a stretch of machine time shows. Run
# scripts/bench-vs-reference.sh once first: it sets up the reference checkout and its Python
# environment, which this script reuses (same REF_DIR, REF_COMMIT, VENV defaults, from
# scripts/reference-common.sh).
# Usage: scripts/yinyang-size-rounds.sh [ROUNDS] > rows.jsonl   (default 3 rounds)
# Each output row is one implementation's JSON row with its round number added.
set -euo pipefail
rounds=${1:-3}
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/reference-common.sh
source scripts/reference-common.sh
[[ -x "$VENV/bin/python" && -d "$REF_DIR/src" ]] \
    || { echo "error: run scripts/bench-vs-reference.sh first (no $VENV or $REF_DIR)" >&2; exit 1; }
build_scaling
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
