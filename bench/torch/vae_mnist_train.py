"""`dl train vae-mnist`'s recipe in PyTorch, for a like-for-like comparison: the same VAE
(packages/vae/fixtures/vae_torch.py, @dl/vae's transcription; conv 16-32, latent 20, Bernoulli
decoder, 112,649 parameters), the same 7,996 training digits (grey levels as Bernoulli targets,
mnist_data.py), shuffled each epoch, batches of 64 (the last one partial), Adam 2e-3 decayed to 0
along a cosine over the run's steps, the negative ELBO with one reparameterised draw per image.

After each epoch it prints the test negative ELBO in nats per image (the 2,004 test digits in
batches of 500, one draw per image from a generator seeded 1234, as the task). At the end it
writes samples.safetensors (`images` float32 [N, 1, 28, 28], Bernoulli means of N prior draws)
and samples.png; score them with the same scorer as ours:

    /usr/bin/python3 bench/torch/vae_mnist_train.py --out runs/vae-mnist-torch
    node apps/sample/dist/cli.js eval-samples runs/vae-mnist-torch/samples.safetensors

Options: --epochs N (15), --batch-size B (64), --lr X (2e-3), --no-cosine, --arch conv|mlp (conv;
mlp is examples/vae's 784-400-z), --latent Z (20), --seed S (0), --threads T (1, as ANCHORS.md),
--samples N (1000), --out DIR (runs/vae-mnist-torch). The last line is `test negative elbo: X`.
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
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "packages", "vae", "fixtures"))
from mnist_data import mnist_split, save_safetensors  # noqa: E402
from vae_torch import VAE  # noqa: E402


def negative_elbo(m, x, seed=1234):
    """Mean negative ELBO, reconstruction and KL of x in batches of 500, one draw per image."""
    g = torch.Generator().manual_seed(seed)
    rec = kl = 0.0
    with torch.no_grad():
        for i in range(0, len(x), 500):
            b = x[i:i + 500]
            eps = torch.randn(len(b), m.latent_dim, generator=g)
            _, r, k = m.elbo(b, eps)
            rec += r.item() * len(b); kl += k.item() * len(b)
    return (rec + kl) / len(x), rec / len(x), kl / len(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--no-cosine", action="store_true")
    p.add_argument("--arch", default="conv", choices=["conv", "mlp"])
    p.add_argument("--latent", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--out", default="runs/vae-mnist-torch")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    train, _, test, _ = mnist_split()
    torch.manual_seed(a.seed)
    m = VAE(arch=a.arch, latent_dim=a.latent, hidden=(400,), channels=(16, 32))
    opt = torch.optim.Adam(m.parameters(), a.lr)
    steps_per_epoch = math.ceil(len(train) / a.batch_size)
    total = a.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 if a.no_cosine else 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    shuffle = torch.Generator().manual_seed(a.seed)
    nparams = sum(q.numel() for q in m.parameters())
    print(f"PyTorch {torch.__version__}, {a.threads} thread(s); VAE {a.arch}, latent {a.latent}, {nparams:,} parameters; "
          f"Adam lr {a.lr}{'' if a.no_cosine else ' with cosine decay'}, batch {a.batch_size}, {a.epochs} epochs", flush=True)
    t0 = time.perf_counter()
    train_time = 0.0
    for epoch in range(a.epochs):
        te = time.perf_counter()
        perm = torch.randperm(len(train), generator=shuffle)
        total_loss = 0.0
        for i in range(0, len(train), a.batch_size):
            x = train[perm[i:i + a.batch_size]]
            loss = m.elbo(x)[0]
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            total_loss += loss.item()
        step_s = time.perf_counter() - te
        train_time += step_s
        nelbo, rec, kl = negative_elbo(m, test)
        print(f"epoch {epoch + 1}/{a.epochs}: train loss {total_loss / steps_per_epoch:.2f}, test negative ELBO {nelbo:.2f} "
              f"(reconstruction {rec:.2f} + KL {kl:.2f}), {step_s:.1f} s ({1000 * step_s / steps_per_epoch:.1f} ms/step)", flush=True)
    g = torch.Generator().manual_seed(a.seed + 2)
    with torch.no_grad():
        images = torch.cat([m.sample(min(500, a.samples - i), generator=g) for i in range(0, a.samples, 500)])
    path = os.path.join(a.out, "samples.safetensors")
    save_safetensors(path, {"images": images.contiguous()}, {"model": f"PyTorch vae_torch.VAE {a.arch} latent {a.latent}", "seed": str(a.seed)})
    vutils.save_image(images[:100], os.path.join(a.out, "samples.png"), nrow=10, padding=2, pad_value=1.0)
    print(f"wrote {path}, {os.path.join(a.out, 'samples.png')}")
    print(f"training {train_time:.1f} s ({1000 * train_time / total:.1f} ms/step), total {time.perf_counter() - t0:.1f} s")
    print(f"test negative elbo: {negative_elbo(m, test)[0]:.2f}")


if __name__ == "__main__":
    main()
