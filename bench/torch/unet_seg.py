"""The U-Net step of bench/src/workloads/unet.ts in PyTorch: the PyTorch transcription of @dl/unet
(packages/unet/fixtures/unet_torch.py, same layers and math), apps/sample's unet-seg config,
batch 16 of 64x64, per-pixel cross-entropy, Adam 2e-3."""
import os
import sys

import torch
import torch.nn.functional as F
from common import report, timed

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packages", "unet", "fixtures"))
from unet_torch import UNet, resolve  # noqa: E402

m = UNet(resolve(dict(inChannels=1, outChannels=11, baseChannels=8, channelMults=[1, 2, 4, 8], numResBlocks=1, norm="group",
                      normGroups=4, activation="silu")))
opt = torch.optim.Adam(m.parameters(), 2e-3)
x = torch.rand(16, 1, 64, 64); y = torch.randint(0, 11, (16, 64, 64))


def step():
    opt.zero_grad(); F.cross_entropy(m(x), y).backward(); opt.step()


report(timed(step))
