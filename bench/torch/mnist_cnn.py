"""The MNIST CNN step of bench/src/workloads/nets.ts in PyTorch: batch 64, Adam 1e-3."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from common import report, timed

m = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                  nn.Flatten(), nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(m.parameters(), 1e-3)
x = torch.randn(64, 1, 28, 28); y = torch.randint(0, 10, (64,))


def step():
    opt.zero_grad(); F.cross_entropy(m(x), y).backward(); opt.step()


report(timed(step))
