"""The VAE step of bench/src/workloads/vae.ts in PyTorch: the PyTorch transcription of @dl/vae
(packages/vae/fixtures/vae_torch.py, same layers and math), apps/sample's vae-mnist model (conv
16-32, latent 20, Bernoulli decoder), batch 64 of 28x28, the negative ELBO, Adam 2e-3."""
import os
import sys

import torch
from common import report, timed

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packages", "vae", "fixtures"))
from vae_torch import VAE  # noqa: E402

m = VAE(arch="conv", channels=(16, 32), latent_dim=20)
opt = torch.optim.Adam(m.parameters(), 2e-3)
x = torch.rand(64, 1, 28, 28)


def step():
    opt.zero_grad(); m.elbo(x)[0].backward(); opt.step()


report(timed(step))
