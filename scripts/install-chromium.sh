#!/usr/bin/env bash
# Installs Debian's Chromium for the browser WebGPU tests (playwright-core drives /usr/bin/chromium;
# Playwright's own browser downloads are not used). Headless with --enable-unsafe-webgpu it exposes
# WebGPU through SwiftShader, no GPU needed. Safe to run again. Needs root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E bash "$0" "$@"; fi
  echo "install-chromium: must run as root (apt-get install)" >&2
  exit 1
fi

if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q 'install ok installed'; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
echo "install-chromium: $(dpkg-query -W -f='chromium ${Version}' chromium) at $(command -v chromium)"
