#!/usr/bin/env bash
# Gives a Debian 12 (bookworm) machine without a GPU a WebGPU adapter for Dawn (npm `webgpu`).
#
# Dawn talks to Vulkan; with no GPU the Vulkan driver is Mesa's lavapipe (Vulkan on the CPU).
# Bookworm ships Mesa 22.3, whose lavapipe lacks a feature Dawn requires, so requestAdapter()
# returns null. bookworm-backports carries Mesa 25.x, which works. This script adds that suite
# (from the mirror apt already uses) and installs the driver from it.
#
# Safe to run again: it does nothing when Mesa 25 or newer is already installed. Needs root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E bash "$0" "$@"; fi
  echo "install-webgpu: must run as root (apt-get install)" >&2
  exit 1
fi

mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
mesa_major() { mesa_version | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'; }

current=$(mesa_major)
if [ -n "$current" ] && [ "$current" -ge 25 ]; then
  echo "install-webgpu: lavapipe already installed (mesa-vulkan-drivers $(mesa_version))"
  exit 0
fi

if ! grep -qs 'bookworm' /etc/os-release; then
  echo "install-webgpu: written for Debian 12 (bookworm); this is $(. /etc/os-release; echo "${PRETTY_NAME:-unknown}")" >&2
  exit 1
fi

# Reuse the Debian mirror already configured (deb822 sources first, then the one-line format).
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
  echo "install-webgpu: found no Debian mirror in the apt sources" >&2
  exit 1
fi

backports=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$backports" ]; then
  cat > "$backports" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null

current=$(mesa_major)
if [ -z "$current" ] || [ "$current" -lt 25 ]; then
  echo "install-webgpu: expected Mesa 25 or newer, got '$(mesa_version)'" >&2
  exit 1
fi
echo "install-webgpu: installed mesa-vulkan-drivers $(mesa_version)"
