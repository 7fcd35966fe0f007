#!/usr/bin/env bash
# Every GPU measurement in one go, for a machine with a real GPU and a Vulkan driver: the GPU
# op's agreement tests (tests/gpu.rs), the throughput example, and short Yin-Yang training runs
# on the GPU and on the same machine's CPU. Results go to OUT_DIR (small files only).
#
#   scripts/gpu-device.sh build BIN_DIR      # here: build the three binaries into BIN_DIR
#   scripts/gpu-device.sh run OUT_DIR BIN_DIR  # there: run them (no Rust toolchain needed)
#
# `build` exists for GPU machines without a Rust toolchain: build on an x86-64 Linux machine,
# copy BIN_DIR and the repository over, and run from the repository's root (the runs read
# data/ and tests/fixtures/ relative to it).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
build)
    bin="${2:?BIN_DIR}"
    mkdir -p "$bin"
    cargo build --release --features wgpu --example gpu_throughput --example yinyang
    tests=$(cargo test --release --features wgpu --test gpu --no-run --message-format=json \
        | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
    target="${CARGO_TARGET_DIR:-target}"
    cp "$target/release/examples/gpu_throughput" "$target/release/examples/yinyang" "$bin/"
    cp "$tests" "$bin/gpu-tests"
    strip "$bin"/* || true
    ls -l "$bin"
    ;;
run)
    out="${2:?OUT_DIR}"
    bin="${3:?BIN_DIR}"
    mkdir -p "$out"
    export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
    {
        date -u
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
        nproc
        grep -m1 'model name' /proc/cpuinfo || true
    } >"$out/machine.txt"
    cat "$out/machine.txt"

    # 1. The GPU op against the f64 CPU kernel, on this GPU.
    set +e
    timeout 180 "$bin/gpu-tests" --nocapture --test-threads 1 >"$out/gpu-tests.log" 2>&1
    echo "gpu-tests exit $?" | tee -a "$out/gpu-tests.log"
    grep -E '^test |test result' "$out/gpu-tests.log"

    # 2. Throughput: forward and forward + backward, median of timed repetitions, with the
    #    f64 CPU kernel on this machine's cores beside it where the work is small enough.
    timeout 180 "$bin/gpu_throughput" --reps 5 --cpu-max-work 2e8 \
        --cases 4-30-3:150:synaptic,4-30-3:4096:synaptic,4-30-3:65536:synaptic,256-100-10:150:none,256-100-10:150:synaptic,784-350-10:150:none,784-350-10:150:synaptic,784-350-10:4096:none,784-350-10:65536:none,1000-1000-10:65536:none \
        --out "$out/gpu-throughput.json" 2>&1 | tail -40
    echo "gpu_throughput exit ${PIPESTATUS[0]}"

    # 3. Yin-Yang training (h30-ws, 20 epochs) on the GPU and on this machine's CPU.
    for device in wgpu cpu; do
        rm -rf "/tmp/train-$device"
        start=$(date +%s.%N)
        timeout 100 "$bin/yinyang" --device "$device" --epochs 20 --quiet \
            --out "/tmp/train-$device" >"/tmp/train-$device.log" 2>&1
        code=$?
        end=$(date +%s.%N)
        echo "yinyang --device $device --epochs 20: exit $code, wall $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
        tail -4 "/tmp/train-$device.log"
        cp "/tmp/train-$device/metrics.csv" "$out/train-$device-metrics.csv" 2>/dev/null
    done | tee "$out/train.txt"
    set -e
    ;;
*)
    echo "usage: $0 build BIN_DIR | run OUT_DIR BIN_DIR" >&2
    exit 2
    ;;
esac
