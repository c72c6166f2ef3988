#!/usr/bin/env bash
# Installs Debian's PyTorch (python3-torch, python3-torchvision) for the tests that run PyTorch
# itself: they load what @dl saved into the same PyTorch model and compare (packages/tensor/src/
# testing/torch.ts). The fixtures committed beside the tests need no Python; these tests do.
# CPU-only, from the Debian archive (no pip, no download from pytorch.org). With OpenBLAS
# (libopenblas0-pthread, a Recommends that --no-install-recommends would drop): on Debian's reference
# libblas3 alone PyTorch's matmul runs at ~6 GFLOP/s instead of ~110, and `pnpm bench` would time
# a peer slowed 20x.
#
# Safe to run again: it does nothing when /usr/bin/python3 already imports both and OpenBLAS is there.
# Needs root.
set -euo pipefail

if /usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1 && ls /usr/lib/*/openblas-pthread/libblas.so.3 >/dev/null 2>&1; then
  echo "install-torch: $(/usr/bin/python3 -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)') already importable"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E bash "$0" "$@"; fi
  echo "install-torch: must run as root (apt-get install)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3-torch python3-torchvision libopenblas0-pthread >/dev/null

/usr/bin/python3 -c 'import torch, torchvision; print("install-torch: installed torch", torch.__version__, "torchvision", torchvision.__version__)'
