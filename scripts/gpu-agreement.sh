#!/usr/bin/env bash
# The GPU spiking op (feature `wgpu`) against the f64 CPU kernel, on any machine: installs Mesa's
# software Vulkan driver (lavapipe, Debian package mesa-vulkan-drivers) when no Vulkan driver is
# present, then runs tests/gpu.rs and the GPU module's unit tests. On a machine with a GPU the
# same command tests the GPU.
#   scripts/gpu-agreement.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-lavapipe.sh
# lavapipe wants a runtime directory; without one it only warns.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
cargo test --release --features wgpu --lib gpu::
cargo test --release --features wgpu --test gpu -- --nocapture --test-threads 1
