#!/usr/bin/env bash
# Installs Mesa's software Vulkan driver (lavapipe, Debian package mesa-vulkan-drivers) when no
# Vulkan driver is present, so the GPU code (feature `wgpu`) runs on a machine without a GPU.
# Does nothing where a Vulkan driver is installed. Needs root or sudo, and Debian's packages.
#   scripts/install-lavapipe.sh
set -euo pipefail
if ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1; then
  exit 0
fi
sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
  mesa-vulkan-drivers libvulkan1 >/dev/null
