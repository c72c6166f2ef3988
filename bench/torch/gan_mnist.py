"""The DCGAN step of bench/src/workloads/gan.ts in PyTorch: the PyTorch transcription of @dl/gan
(packages/gan/fixtures/dcgan_torch.py, same layers and math) at the task's width 32, G 234,176 and
D 36,544 parameters, z of 64, batch 64 of 28x28, D then G (D frozen for G's pass),
Adam 2e-4 (0.5, 0.999), non-saturating loss."""
import os
import sys

import torch

sys.dont_write_bytecode = True  # before importing common: no __pycache__ in bench/torch
from common import report, timed  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packages", "gan", "fixtures"))
from dcgan_torch import Discriminator, Generator, gan_step  # noqa: E402

netG, netD = Generator(width=32), Discriminator(width=32)
optG = torch.optim.Adam(netG.parameters(), 2e-4, betas=(0.5, 0.999))
optD = torch.optim.Adam(netD.parameters(), 2e-4, betas=(0.5, 0.999))
real = torch.rand(64, 1, 28, 28) * 2 - 1


def step():
    gan_step(netG, netD, optG, optD, real, torch.randn(64, 64))


report(timed(step))
