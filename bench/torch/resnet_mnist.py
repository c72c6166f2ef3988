"""The ResNet step of bench/src/workloads/resnet.ts in PyTorch: torchvision's ResNet blocks and
_make_layer at widths 16-32-64-128 with the small-input stem (SmallResNet of
packages/resnet/fixtures/resnet_torch.py), 1 channel, batch 64 of 28x28, label smoothing 0.1, Adam 2e-3."""
import os
import sys

import torch
import torch.nn.functional as F
from common import report, timed

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packages", "resnet", "fixtures"))
from resnet_torch import SmallResNet  # noqa: E402
from torchvision.models.resnet import BasicBlock  # noqa: E402

m = SmallResNet(BasicBlock, [1, 1, 1, 1], [16, 32, 64, 128], num_classes=10, in_channels=1, small_input=True)
opt = torch.optim.Adam(m.parameters(), 2e-3)
x = torch.randn(64, 1, 28, 28); y = torch.randint(0, 10, (64,))


def step():
    opt.zero_grad(); F.cross_entropy(m(x), y, label_smoothing=0.1).backward(); opt.step()


report(timed(step))
