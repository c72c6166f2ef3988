"""PyTorch CPU reference for bench/src/train.ts: the same two training steps, ms per step.
Prints one JSON line {"mnist": ms, "gpt": ms}. Run by `pnpm bench` when /usr/bin/python3 has torch."""
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

print(json.dumps({"mnist": mnist(), "gpt": gpt()}))
