#!/usr/bin/env bash
# Side-by-side training-step throughput: the authors' PyTorch reference implementation of DelGrad
# (github.com/JulianGoeltz/fastAndDeep, branch main) versus delgrad, on the same synthetic
# workloads: 4-30-3, 256-100-10 and 784-350-10, with synaptic delays and without, batch 150,
# float64 on the CPU, 1 and 2 threads. See scripts/reference_scaling.py for what is timed.
#
# Usage (from anywhere; paths are relative to the repository root):
#   scripts/bench-vs-reference.sh
#
# Environment (all optional):
#   REF_DIR      reference checkout; cloned if absent
#                (default: ${TMPDIR:-/tmp}/delgrad-reference/fastAndDeep)
#   REF_URL      where to clone it from (default: https://github.com/JulianGoeltz/fastAndDeep)
#   REF_COMMIT   reference commit to check out (default: the one our numbers were taken with)
#   VENV         Python virtual environment for the reference; created if absent
#                (default: ${TMPDIR:-/tmp}/delgrad-reference/venv)
#   PIP_PACKAGES what to install into a new VENV (default: pinned versions used so far;
#                PyPI's torch wheel pulls in CUDA libraries, several GB, which is fine on CPU)
#   PYTHON       interpreter used to create VENV (default: python3)
#   THREADS      thread counts, one process each (default: "1 2")
#   OUT          JSON-lines file of both implementations' results, rewritten by each run
#                (default: artifacts/bench/scaling-vs-reference.jsonl); the table goes next to
#                it, with .md instead of .jsonl
#   MID_TIMED_SAMPLES  256-100-10 only: time the reference on the first N samples of each batch
#                and extrapolate (default: 40, one of the driver's micro-batches)
#   LARGE_TIMED_SAMPLES  784-350-10 only: time the first N samples of each batch and extrapolate
#                (one full batch-150 step of the reference takes ~15-20 min on one CPU core);
#                0 times the whole batch (default: 4)
#   REF_ARGS     extra arguments for the reference driver (e.g. "--reps 3")
#
# The reference code is used only from REF_DIR at run time; nothing of it is copied here.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/reference-common.sh
source scripts/reference-common.sh
REF_URL="${REF_URL:-https://github.com/JulianGoeltz/fastAndDeep}"
PYTHON="${PYTHON:-python3}"
PIP_PACKAGES="${PIP_PACKAGES:-torch==2.15.0 numpy==2.4.6 scipy==1.17.1 pyyaml==6.0.4 numba==0.68.1 matplotlib==3.11.2}"
THREADS="${THREADS:-1 2}"
OUT="${OUT:-artifacts/bench/scaling-vs-reference.jsonl}"
MID_TIMED_SAMPLES="${MID_TIMED_SAMPLES:-40}"
LARGE_TIMED_SAMPLES="${LARGE_TIMED_SAMPLES:-4}"
REF_ARGS="${REF_ARGS:-}"

# --- reference checkout -------------------------------------------------------------------------
if [[ ! -d "$REF_DIR/.git" ]]; then
    mkdir -p "$(dirname "$REF_DIR")"
    git clone "$REF_URL" "$REF_DIR"
fi
if [[ "$(git -C "$REF_DIR" rev-parse HEAD)" != "$REF_COMMIT" ]]; then
    git -C "$REF_DIR" cat-file -e "$REF_COMMIT^{commit}" 2>/dev/null || git -C "$REF_DIR" fetch origin
    git -C "$REF_DIR" checkout --quiet "$REF_COMMIT"
fi
[[ -f "$REF_DIR/src/delay_utils.py" ]] || { echo "error: $REF_DIR has no DelGrad (delay) code" >&2; exit 1; }

# --- Python environment -------------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --upgrade pip
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    "$VENV/bin/pip" install $PIP_PACKAGES
fi
"$VENV/bin/python" -c 'import torch, numpy, scipy, yaml, numba, matplotlib' \
    || { echo "error: $VENV lacks a package; set PIP_PACKAGES and remove $VENV" >&2; exit 1; }

# Which builds and machine the figures are from: a table whose numbers cannot be tied to a commit
# and a CPU is hard to trust (a stale binary once went unnoticed into one).
# Taken before OUT is rewritten, which would mark the tree as changed.
cpu_model="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//')"
isa="baseline"
grep -qw avx2 /proc/cpuinfo 2>/dev/null && isa="AVX2"
grep -qw avx512f /proc/cpuinfo 2>/dev/null && isa="AVX-512"
provenance="delgrad $(git describe --always --dirty 2>/dev/null || echo unknown), reference ${REF_COMMIT:0:7}, ${cpu_model:-unknown CPU} ($(nproc) cores, widest vectors: $isa), $(date -u +%Y-%m-%d)"
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

# --- delgrad's side: the same workloads through Autodiff<NdArray<f64>> ----------------------------
build_scaling

# --- both, one thread count at a time ------------------------------------------------------------
# The reference's wide layers are timed on a prefix of the batch (one micro-batch) and
# extrapolated to 150 samples: a full step of 784-350-10 takes over 20 minutes on one core.
for t in $THREADS; do
    export OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" NUMBA_NUM_THREADS="$t"
    # shellcheck disable=SC2086
    "$VENV/bin/python" scripts/reference_scaling.py --reference "$REF_DIR" --commit "$REF_COMMIT" \
        --threads "$t" --networks 4-30-3 $REF_ARGS >> "$OUT"
    # shellcheck disable=SC2086
    "$VENV/bin/python" scripts/reference_scaling.py --reference "$REF_DIR" --commit "$REF_COMMIT" \
        --threads "$t" --networks 256-100-10 --timed-samples "$MID_TIMED_SAMPLES" --warmup 1 --reps 3 \
        $REF_ARGS >> "$OUT"
    # shellcheck disable=SC2086
    "$VENV/bin/python" scripts/reference_scaling.py --reference "$REF_DIR" --commit "$REF_COMMIT" \
        --threads "$t" --networks 784-350-10 --timed-samples "$LARGE_TIMED_SAMPLES" --warmup 1 \
        --reps 3 $REF_ARGS >> "$OUT"
    unset OMP_NUM_THREADS MKL_NUM_THREADS OPENBLAS_NUM_THREADS NUMBA_NUM_THREADS
    "$scaling" --threads "$t" --networks 4-30-3,256-100-10,784-350-10 --delays synaptic,none \
        >> "$OUT"
done

# --- the table: delgrad's samples per second over the reference's, per case --------------------
python3 - "$OUT" "${OUT%.jsonl}.md" "$provenance" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
key = lambda r: (r["network"], r["delays"], r["threads"])
ref = {key(r): r for r in rows if r["impl"] == "reference"}
ours = {key(r): r for r in rows if r["impl"] == "delgrad"}
lines = [
    "| network | delays | threads | reference (samples/s) | delgrad (samples/s) | ratio |",
    "|---|---|---|---|---|---|",
]
for k in sorted(ours, key=lambda k: (int(k[0].split("-")[0]), k[1], k[2])):
    if k not in ref:
        continue
    r, o = ref[k], ours[k]
    note = " (extrapolated)" if r.get("extrapolated") else ""
    lines.append(
        f"| {k[0]} | {k[1]} | {k[2]} | {r['samples_per_s']:.3g}{note} | "
        f"{o['samples_per_s']:.3g} | {o['samples_per_s'] / r['samples_per_s']:.0f}x |"
    )
lines += ["", f"Measured with {sys.argv[3]}."]
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "results in $OUT and ${OUT%.jsonl}.md" >&2
