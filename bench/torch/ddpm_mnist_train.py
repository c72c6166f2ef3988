"""`dl train ddpm-mnist`'s recipe in PyTorch, for a like-for-like comparison: the same class-conditional
U-Net (packages/unet/fixtures/unet_torch.py, @dl/unet's transcription), the same diffusion math
(packages/diffusion/fixtures/diffusion_torch.py, @dl/diffusion's transcription), the same 7,996
training digits (mnist_data.py) scaled to [-1, 1], shuffled each epoch, batches of 64 (the last
partial batch dropped); per step a uniform timestep and a standard normal draw per image, the label
replaced by the null class with probability --p-uncond, the MSE of the predicted noise, Adam, and an
EMA of the weights (diffusers' EMAModel decay with warm-up (1 + n) / (10 + n), capped at --ema).

At the end it samples --samples images from the EMA weights with DDIM (--sample-steps, eta 0) and
classifier-free guidance --guidance, asking for the classes 0..9 in turn, and writes
samples.safetensors (`images` float32 [N, 1, 28, 28] in [0, 1], `labels` int32 [N]) and
samples.png the way the task does; score them with the same scorer as ours:

    /usr/bin/python3 bench/torch/ddpm_mnist_train.py --out runs/ddpm-mnist-torch
    node apps/sample/dist/cli.js eval-samples runs/ddpm-mnist-torch/samples.safetensors

Options (defaults are the task's): --steps N, --batch-size B, --lr X, --lr-schedule constant|cosine,
--warmup N, --base C, --mults 1,2,2,
--res-blocks R, --schedule linear|cosine, --timesteps T, --prediction epsilon|v_prediction,
--p-uncond P, --ema D, --samples N, --sample-steps S, --guidance W, --sample-batch B, --seed S,
--threads T (1), --out DIR, --save-at 600,800 (also saves torch-checkpoint-<step>.pt there, to sample
later); --checkpoint FILE skips training and samples from a torch-checkpoint.pt
of an earlier run. Times are wall and CPU (process) seconds: on a shared machine the CPU time is
closer to what the run takes on idle cores.
"""
import argparse
import math
import os
import sys
import time

import torch
import torchvision.utils as vutils

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "packages", "unet", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "packages", "diffusion", "fixtures"))
from diffusion_torch import Schedule, diffusion_loss, drop_labels, ema_decay, ema_step, sample  # noqa: E402
from mnist_data import mnist_split, save_safetensors  # noqa: E402
from unet_torch import UNet, resolve  # noqa: E402


def unet_config(a):
    """The task's U-Net (unetConfig in apps/sample/src/train-ddpm.ts)."""
    return dict(baseChannels=a.base, channelMults=[float(m) if "." in m else int(m) for m in a.mults.split(",")],
                numResBlocks=a.res_blocks, timeEmbedding=True, numClasses=10)


def lr_factor(a, t):
    """The learning rate's multiplier for the step after t steps: constant, or @dl/layers' CosineWithWarmup
    (linear from 0 over --warmup steps, then half a cosine down to 0 at --steps)."""
    if a.lr_schedule == "constant":
        return 1.0
    if t < a.warmup:
        return t / a.warmup
    progress = min(1.0, (t - a.warmup) / (a.steps - a.warmup))
    return 0.5 * (1 + math.cos(math.pi * progress))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=1600)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "cosine"])
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--base", type=int, default=16)
    p.add_argument("--mults", default="1,2,2")
    p.add_argument("--res-blocks", type=int, default=1)
    p.add_argument("--schedule", default="linear", choices=["linear", "cosine"])
    p.add_argument("--timesteps", type=int, default=1000)
    p.add_argument("--prediction", default="epsilon", choices=["epsilon", "v_prediction"])
    p.add_argument("--p-uncond", type=float, default=0.1)
    p.add_argument("--ema", type=float, default=0.995)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--sample-steps", type=int, default=50)
    p.add_argument("--guidance", type=float, default=2.0)
    p.add_argument("--sample-batch", type=int, default=50)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--save-at", default="")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="runs/ddpm-mnist-torch")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)

    x, labels, _, _ = mnist_split()
    x = x * 2 - 1
    torch.manual_seed(a.seed)
    cfg = resolve(unet_config(a))
    model, ema_model = UNet(cfg), UNet(cfg)
    ema_model.load_state_dict(model.state_dict())
    sch = Schedule(a.schedule, a.timesteps, prediction_type=a.prediction)
    opt = torch.optim.Adam(model.parameters(), a.lr)
    nparams = sum(q.numel() for q in model.parameters())
    print(f"PyTorch {torch.__version__}, {a.threads} thread(s); U-Net {cfg['baseChannels']} x {cfg['channelMults']}, "
          f"{cfg['numResBlocks']} res block(s) a level, {nparams:,} parameters; T={a.timesteps} {a.schedule}, {a.prediction}, "
          f"p_uncond {a.p_uncond}, Adam {a.lr} ({a.lr_schedule}, warmup {a.warmup}), batch {a.batch_size}, EMA {a.ema}, {a.steps} steps", flush=True)

    g = torch.Generator().manual_seed(a.seed)
    per_epoch = x.shape[0] // a.batch_size
    step, t0, c0, perm, total = 0, time.perf_counter(), time.process_time(), None, 0.0
    if a.checkpoint:
        ck = torch.load(a.checkpoint)
        model.load_state_dict(ck["model"])
        ema_model.load_state_dict(ck["ema"])
        step = a.steps
        print(f"loaded {a.checkpoint}; sampling only", flush=True)
    while step < a.steps:
        if step % per_epoch == 0:
            perm = torch.randperm(x.shape[0], generator=g)
        idx = perm[(step % per_epoch) * a.batch_size:(step % per_epoch + 1) * a.batch_size]
        x0, y = x[idx], labels[idx]
        t = torch.randint(0, a.timesteps, (a.batch_size,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        y = drop_labels(y, torch.rand(a.batch_size, generator=g), a.p_uncond, 10)
        loss = diffusion_loss(sch, model, x0, t, noise, y)
        opt.zero_grad()
        loss.backward()
        for group in opt.param_groups:
            group["lr"] = a.lr * lr_factor(a, step)
        opt.step()
        step += 1
        ema_step(list(ema_model.parameters()), list(model.parameters()), ema_decay(step, a.ema))
        if str(step) in a.save_at.split(","):
            torch.save({"model": model.state_dict(), "ema": ema_model.state_dict()}, os.path.join(a.out, f"torch-checkpoint-{step}.pt"))
        total += loss.item()
        if step % 100 == 0 or step == a.steps:
            el = time.perf_counter() - t0
            cpu = time.process_time() - c0
            print(f"step {step}/{a.steps}: loss {total / (100 if step % 100 == 0 else step % 100):.4f}  {el:.0f} s ({1e3 * el / step:.0f} ms/step; "
                  f"cpu {cpu:.0f} s, {1e3 * cpu / step:.0f} ms/step)", flush=True)
            total = 0.0
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    if not a.checkpoint:
        torch.save({"model": model.state_dict(), "ema": ema_model.state_dict()}, os.path.join(a.out, "torch-checkpoint.pt"))

    t1, c1 = time.perf_counter(), time.process_time()
    sg = torch.Generator().manual_seed(1000 + a.seed)
    ys = torch.arange(a.samples, dtype=torch.int32) % 10
    ema_model.eval()
    parts = []
    # small batches: a 28x28 U-Net's activations stay in cache (batch 500 costs ~3x more per image)
    for i in range(0, a.samples, a.sample_batch):
        n = min(a.sample_batch, a.samples - i)
        noise = torch.randn(n, 1, 28, 28, generator=sg)
        parts.append(sample(sch, ema_model, noise, ys[i:i + n], 10, a.guidance, a.sample_steps, "ddim", generator=sg))
        if (i + n) % 250 == 0 or i + n == a.samples:
            print(f"sampled {i + n}/{a.samples}  {time.perf_counter() - t1:.0f} s (cpu {time.process_time() - c1:.0f} s)", flush=True)
    images = ((torch.cat(parts) + 1) / 2).clamp(0, 1)
    sample_s, sample_cpu = time.perf_counter() - t1, time.process_time() - c1
    meta = {"model": f"PyTorch DDPM (unet_torch.UNet {cfg['baseChannels']} x {cfg['channelMults']}), {a.steps} steps, "
                     f"DDIM {a.sample_steps} steps, guidance {a.guidance}, seed {a.seed}", "seconds": f"{train_s:.0f}"}
    save_safetensors(os.path.join(a.out, "samples.safetensors"), {"images": images.contiguous(), "labels": ys}, meta)
    vutils.save_image(images[:100], os.path.join(a.out, "samples.png"), nrow=10, padding=2, pad_value=1.0)
    print(f"trained {a.steps} steps in {train_s:.0f} s ({1e3 * train_s / a.steps:.0f} ms/step; cpu {train_cpu:.0f} s); sampled {a.samples} in "
          f"{sample_s:.0f} s (cpu {sample_cpu:.0f} s; DDIM {a.sample_steps} steps, guidance {a.guidance}); wrote {a.out}/samples.safetensors and samples.png")


if __name__ == "__main__":
    main()
