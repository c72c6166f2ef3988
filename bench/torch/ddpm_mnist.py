"""The DDPM step of bench/src/workloads/ddpm.ts in PyTorch: @dl/unet's and @dl/diffusion's PyTorch
transcriptions (packages/unet/fixtures/unet_torch.py, packages/diffusion/fixtures/diffusion_torch.py),
apps/sample's ddpm-mnist model (U-Net 16-32-32, one ResBlock a level, time and class embeddings),
batch 64 of 28x28: uniform timesteps of a T = 1000 linear schedule, the noise's MSE with 10% of the
labels dropped, Adam 2e-3, then the EMA update."""
import os
import sys

import torch
from common import report, timed

sys.dont_write_bytecode = True
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "packages", "unet", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "packages", "diffusion", "fixtures"))
from diffusion_torch import Schedule, diffusion_loss, drop_labels, ema_decay, ema_step  # noqa: E402
from unet_torch import UNet, resolve  # noqa: E402

cfg = resolve(dict(baseChannels=16, channelMults=[1, 2, 2], numResBlocks=1, timeEmbedding=True, numClasses=10))
model, ema_model = UNet(cfg), UNet(cfg)
ema_model.load_state_dict(model.state_dict())
sch = Schedule("linear", 1000)
opt = torch.optim.Adam(model.parameters(), 2e-3)
x0 = torch.rand(64, 1, 28, 28) * 2 - 1
labels = torch.randint(0, 10, (64,), dtype=torch.int32)
state = {"n": 0}


def step():
    t = torch.randint(0, 1000, (64,))
    y = drop_labels(labels, torch.rand(64), 0.1, 10)
    loss = diffusion_loss(sch, model, x0, t, torch.randn_like(x0), y)
    opt.zero_grad(); loss.backward(); opt.step()
    state["n"] += 1
    ema_step(list(ema_model.parameters()), list(model.parameters()), ema_decay(state["n"], 0.995))


report(timed(step))
