"""PyTorch CPU reference for bench/: the same matmuls, conv2d and two training steps as the @dl rows,
median ms each, on 2 threads. Prints one JSON line
{"matmul": {"256": ms, "512": ms, "1024": ms}, "conv2d": ms, "mnist": ms, "gpt": ms}.
Run by `pnpm bench` (bench/src/peers.ts) when /usr/bin/python3 has torch."""
import json, time
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)

def timed(step, reps=20):
    step()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); step(); ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]

def matmul(n):
    a, b = torch.randn(n, n), torch.randn(n, n)
    return timed(lambda: torch.mm(a, b))

def conv2d():
    x, w = torch.randn(32, 16, 28, 28), torch.randn(32, 16, 3, 3)
    return timed(lambda: F.conv2d(x, w, padding=1))

def mnist():
    m = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    x = torch.randn(64, 1, 28, 28); y = torch.randint(0, 10, (64,))
    def step():
        opt.zero_grad(); F.cross_entropy(m(x), y).backward(); opt.step()
    return timed(step)

class Block(nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.ln1, s.attn, s.ln2 = nn.LayerNorm(d), nn.MultiheadAttention(d, h, batch_first=True), nn.LayerNorm(d)
        s.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
    def forward(s, x, mask):
        h = s.ln1(x)
        x = x + s.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + s.mlp(s.ln2(x))

def gpt():
    V, d, H, L, T, B = 65, 128, 4, 4, 64, 12
    tok, pos = nn.Embedding(V, d), nn.Embedding(T, d)
    blocks = nn.ModuleList([Block(d, H) for _ in range(L)])
    lnf, head = nn.LayerNorm(d), nn.Linear(d, V)
    params = [p for mod in (tok, pos, blocks, lnf, head) for p in mod.parameters()]
    opt = torch.optim.AdamW(params, 1e-3)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    idx = torch.randint(0, V, (B, T)); tgt = torch.randint(0, V, (B, T))
    def step():
        opt.zero_grad()
        x = tok(idx) + pos(torch.arange(T))
        for b in blocks: x = b(x, mask)
        F.cross_entropy(head(lnf(x)).reshape(B * T, V), tgt.reshape(B * T)).backward()
        opt.step()
    return timed(step)

with torch.no_grad():
    ops = {"matmul": {str(n): matmul(n) for n in (256, 512, 1024)}, "conv2d": conv2d()}
print(json.dumps({**ops, "mnist": mnist(), "gpt": gpt()}))
