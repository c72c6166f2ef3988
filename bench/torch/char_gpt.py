"""The char-GPT step of bench/src/workloads/nets.ts in PyTorch: 4 layers, d=128, 4 heads, T=64,
batch 12, vocab 65, AdamW 1e-3."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from common import report, timed


class Block(nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.ln1, s.attn, s.ln2 = nn.LayerNorm(d), nn.MultiheadAttention(d, h, batch_first=True), nn.LayerNorm(d)
        s.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(s, x, mask):
        h = s.ln1(x)
        x = x + s.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + s.mlp(s.ln2(x))


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
    for b in blocks:
        x = b(x, mask)
    F.cross_entropy(head(lnf(x)).reshape(B * T, V), tgt.reshape(B * T)).backward()
    opt.step()


report(timed(step))
