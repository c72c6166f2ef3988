"""PyTorch CPU reference for bench/'s op rows: the same matmuls and conv2d as the @dl rows, median ms
each, on 2 threads. Prints {"matmul": {"256": ms, "512": ms, "1024": ms}, "conv2d": ms}."""
import json
import torch
import torch.nn.functional as F
from common import timed


def matmul(n):
    a, b = torch.randn(n, n), torch.randn(n, n)
    return timed(lambda: torch.mm(a, b))


def conv2d():
    x, w = torch.randn(32, 16, 28, 28), torch.randn(32, 16, 3, 3)
    return timed(lambda: F.conv2d(x, w, padding=1))


with torch.no_grad():
    print(json.dumps({"matmul": {str(n): matmul(n) for n in (256, 512, 1024)}, "conv2d": conv2d()}))
