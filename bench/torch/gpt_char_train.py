"""`dl train gpt-char`'s recipe in PyTorch, for its README's comparison: the same text, split,
vocabulary, model (gpt_char_model.py), batches of random windows, AdamW groups, warmup and cosine
schedule (as @dl/layers' CosineWithWarmup), gradient clipping, loss estimates every 250 steps and
the final loss over the whole validation text in windows of 64. The last line is JSON:
{"val_loss", "train_s", "total_s", "cpu_s", "tokens_per_s"} (cpu_s: the
process's CPU time, a figure a busy machine changes less than the wall time).

    /usr/bin/python3 bench/torch/gpt_char_train.py [--steps 2000] [--threads 2] [--seed 0]
"""
import sys

sys.dont_write_bytecode = True
import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from gpt_char_model import adamw, gpt_char, loss_of  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "apps", "sample", "node_modules", "@stdlib", "datasets-moby-dick", "data")


def moby_dick():
    """As apps/sample/src/moby-dick.ts: the package's 139 sections in file_list.json's order, joined with a newline."""
    with open(os.path.join(DATA, "file_list.json")) as f:
        files = json.load(f)
    texts = []
    for name in files:
        with open(os.path.join(DATA, name.replace("txt", "json")), encoding="utf8") as f:
            texts.append(json.load(f)["text"])
    return "\n".join(texts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    text = moby_dick()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(len(ids) * 0.9)
    train, val = ids[:n], ids[n:]
    print(f"{len(text)} characters, vocabulary {len(chars)}, {len(train)} train / {len(val)} val")
    B, T, warmup, lr, min_lr = 12, 64, min(100, a.steps - 1), 1e-3, 1e-4
    torch.manual_seed(a.seed)
    model = gpt_char(vocab=len(chars), block=T)
    opt = adamw(model, lr)

    def factor(t):
        if t < warmup:
            return t / warmup
        p = min(1.0, (t - warmup) / (a.steps - warmup))
        return min_lr / lr + (1 - min_lr / lr) * 0.5 * (1 + math.cos(math.pi * p))

    def batch(data, g):
        ix = torch.randint(len(data) - T, (B,), generator=g)
        return torch.stack([data[i:i + T] for i in ix]), torch.stack([data[i + 1:i + 1 + T] for i in ix])

    @torch.no_grad()
    def estimate(data, seed):
        model.eval()
        g = torch.Generator().manual_seed(seed)
        out = sum(loss_of(model, *batch(data, g)).item() for _ in range(20)) / 20
        model.train()
        return out

    @torch.no_grad()
    def full(data):
        model.eval()
        w = (len(data) - 1) // T
        total = 0.0
        for s in range(0, w, 32):
            m = min(32, w - s)
            x = data[s * T:(s + m) * T].view(m, T)
            y = data[s * T + 1:(s + m) * T + 1].view(m, T)
            total += loss_of(model, x, y).item() * m
        model.train()
        return total / w

    g = torch.Generator().manual_seed(a.seed + 1)
    train_s = 0.0
    model.train()
    for step in range(a.steps):
        if step % 250 == 0 and step > 0:
            print(f"step {step}: train loss {estimate(train, a.seed + 2):.4f}, val loss {estimate(val, a.seed + 3):.4f} "
                  f"({train_s:.0f} s training, {time.process_time():.0f} s CPU so far)", flush=True)
        s0 = time.perf_counter()
        for grp in opt.param_groups:
            grp["lr"] = lr * factor(step)
        x, y = batch(train, g)
        opt.zero_grad(set_to_none=True)
        loss = loss_of(model, x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
        train_s += time.perf_counter() - s0
    print(f"step {a.steps}: train loss {estimate(train, a.seed + 2):.4f}, val loss {estimate(val, a.seed + 3):.4f}")
    v = full(val)
    print(json.dumps({"val_loss": v, "train_s": train_s, "total_s": time.perf_counter() - t0, "cpu_s": time.process_time(), "tokens_per_s": a.steps * B * T / train_s}))


main()
