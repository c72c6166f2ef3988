"""The PyTorch fixtures of @dl/mamba's tests (tested with torch 1.13; mamba_ssm is not needed).

    /usr/bin/python3 packages/mamba/scripts/make_mamba_fixture.py

writes, under packages/mamba/fixtures/:
    scan-io.safetensors   selective scans (float64) of the reference's selective_scan_ref for three
                          variants (input-dependent B and C with z, deltaBias and softplus; fixed B
                          without z; fixed C), their outputs, last states and the gradients of
                          sum(y * w) + sum(last_state * ws) with respect to every input
    mamba-tiny/           config.json + model.safetensors of a tiny MambaLMHeadModel (the names of
                          state-spaces/mamba's mixer_seq_simple.py; lm_head.weight tied, left out)
    mamba-tiny-io.safetensors  a batch of token ids and targets, the model's logits, the loss and the
                          gradient of the loss with respect to every parameter

The modules below transcribe state-spaces/mamba's selective_scan_ref (selective_scan_interface.py),
Mamba's slow path (mamba_simple.py: in_proj, causal depthwise conv1d, x_proj, dt_proj, the scan
with z and the dt bias, out_proj) and MixerModel/MambaLMHeadModel with RMSNorm blocks (the residual
added before each norm). The weights get noise on top of the reference initialisation, so that a
wrong A_log, D or norm shows well above float32 rounding.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")

sys.path.insert(0, os.path.join(HERE, "..", "..", "layers", "fixtures"))
from safetensors_io import save  # noqa: E402


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """u, delta (b, d, l); A (d, n); B, C (b, n, l) or (d, n); D (d); z (b, d, l) -> y, last state (b, d, n)."""
    if delta_bias is not None:
        delta = delta + delta_bias[None, :, None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, length = u.shape
    n = A.shape[1]
    dA = torch.exp(delta[..., None] * A[None, :, None, :])  # (b, d, l, n): zero-order hold
    if B.dim() == 3:
        dBu = (delta * u)[..., None] * B.permute(0, 2, 1)[:, None]  # (b, d, l, n): Euler
    else:
        dBu = (delta * u)[..., None] * B[None, :, None, :]
    h = u.new_zeros(batch, dim, n)
    ys = []
    for t in range(length):
        h = dA[:, :, t] * h + dBu[:, :, t]
        c = C[:, :, t][:, None, :] if C.dim() == 3 else C[None]
        ys.append((h * c).sum(-1))
    y = torch.stack(ys, dim=2)
    if D is not None:
        y = y + u * D[None, :, None]
    if z is not None:
        y = y * F.silu(z)
    return y, h


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Mamba(nn.Module):
    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, dt_min=0.001, dt_max=0.1, dt_init_floor=1e-4):
        super().__init__()
        self.d_inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 16)
        self.d_state = d_state
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=False)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, d_conv, groups=self.d_inner, padding=d_conv - 1, bias=True)
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        std = self.dt_rank ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)).clamp(min=dt_init_floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def forward(self, hidden):
        length = hidden.shape[1]
        xz = self.in_proj(hidden).transpose(1, 2)
        x, z = xz.chunk(2, dim=1)
        x = F.silu(self.conv1d(x)[..., :length])
        x_dbl = self.x_proj(x.transpose(1, 2))
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = (dt @ self.dt_proj.weight.t()).transpose(1, 2)
        A = -torch.exp(self.A_log)
        y, _ = selective_scan(x, dt, A, B.transpose(1, 2), C.transpose(1, 2), self.D, z=z, delta_bias=self.dt_proj.bias, delta_softplus=True)
        return self.out_proj(y.transpose(1, 2))


class Block(nn.Module):
    def __init__(self, d_model, ssm_cfg):
        super().__init__()
        self.mixer = Mamba(d_model, **{k: v for k, v in ssm_cfg.items() if k != "layer"})
        self.norm = RMSNorm(d_model)

    def forward(self, hidden, residual):
        residual = hidden + residual if residual is not None else hidden
        return self.mixer(self.norm(residual)), residual


class MixerModel(nn.Module):
    def __init__(self, d_model, n_layer, vocab, ssm_cfg):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model)
        self.layers = nn.ModuleList([Block(d_model, ssm_cfg) for _ in range(n_layer)])
        self.norm_f = RMSNorm(d_model)

    def forward(self, ids):
        hidden, residual = self.embedding(ids), None
        for layer in self.layers:
            hidden, residual = layer(hidden, residual)
        return self.norm_f(hidden + residual)


class MambaLMHeadModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        vocab = config["vocab_size"]
        m = config["pad_vocab_size_multiple"]
        if vocab % m:
            vocab += m - vocab % m
        self.backbone = MixerModel(config["d_model"], config["n_layer"], vocab, config["ssm_cfg"])
        self.lm_head = nn.Linear(config["d_model"], vocab, bias=False)
        self.lm_head.weight = self.backbone.embedding.weight

    def forward(self, ids):
        return self.lm_head(self.backbone(ids))


def scan_fixture():
    torch.manual_seed(0)
    out = {}
    batch, dim, length, n = 2, 3, 8, 4
    variants = {
        "var": dict(var_b=True, var_c=True, z=True, softplus=True),
        "fixed_b": dict(var_b=False, var_c=True, z=False, softplus=False),
        "fixed_c": dict(var_b=True, var_c=False, z=True, softplus=True),
    }
    for name, v in variants.items():
        t = dict(
            u=torch.randn(batch, dim, length, dtype=torch.float64),
            delta=0.5 * torch.randn(batch, dim, length, dtype=torch.float64),
            A=-(0.2 + 2 * torch.rand(dim, n, dtype=torch.float64)),
            B=torch.randn(batch, n, length, dtype=torch.float64) if v["var_b"] else torch.randn(dim, n, dtype=torch.float64),
            C=torch.randn(batch, n, length, dtype=torch.float64) if v["var_c"] else torch.randn(dim, n, dtype=torch.float64),
            D=torch.randn(dim, dtype=torch.float64),
            z=torch.randn(batch, dim, length, dtype=torch.float64),
            delta_bias=0.3 * torch.randn(dim, dtype=torch.float64),
        )
        for x in t.values():
            x.requires_grad_(True)
        w = torch.randn(batch, dim, length, dtype=torch.float64)
        ws = torch.randn(batch, dim, n, dtype=torch.float64)
        y, last = selective_scan(t["u"], t["delta"], t["A"], t["B"], t["C"], t["D"], z=t["z"] if v["z"] else None, delta_bias=t["delta_bias"], delta_softplus=v["softplus"])
        ((y * w).sum() + (last * ws).sum()).backward()
        for k, x in t.items():
            out[f"{name}.{k}"] = x.detach()
            if x.grad is not None:
                out[f"{name}.grad.{k}"] = x.grad
        out[f"{name}.w"] = w
        out[f"{name}.ws"] = ws
        out[f"{name}.y"] = y.detach()
        out[f"{name}.last_state"] = last.detach()
    save(os.path.join(FIXTURES, "scan-io.safetensors"), out)


CONFIG = {
    "d_model": 16,
    "d_intermediate": 0,
    "n_layer": 2,
    "vocab_size": 21,
    "ssm_cfg": {"layer": "Mamba1", "d_state": 4, "d_conv": 4, "expand": 2},
    "attn_layer_idx": [],
    "attn_cfg": {},
    "rms_norm": True,
    "residual_in_fp32": True,
    "fused_add_norm": True,
    "pad_vocab_size_multiple": 8,
    "tie_embeddings": True,
}


def model_fixture():
    torch.manual_seed(1)
    model = MambaLMHeadModel(CONFIG)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("A_log"):
                p.add_(0.2 * torch.randn_like(p))
            elif name.endswith(".D") or "norm" in name:
                p.add_(0.3 * torch.randn_like(p))
            elif name.endswith("embedding.weight"):
                p.mul_(0.5)
    ids = torch.randint(0, CONFIG["vocab_size"], (2, 9))
    targets = torch.randint(0, CONFIG["vocab_size"], (2, 9))
    logits = model(ids)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    folder = os.path.join(FIXTURES, "mamba-tiny")
    os.makedirs(folder, exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save(os.path.join(folder, "model.safetensors"), sd, {"format": "pt"})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    io = {"input_ids": ids.to(torch.int32), "targets": targets.to(torch.int32), "logits": logits.detach(), "loss": loss.detach().reshape(1)}
    for name, p in model.named_parameters():
        io[f"grad.{name}"] = p.grad
    save(os.path.join(FIXTURES, "mamba-tiny-io.safetensors"), io)


if __name__ == "__main__":
    os.makedirs(FIXTURES, exist_ok=True)
    scan_fixture()
    model_fixture()
    print("wrote", sorted(os.listdir(FIXTURES)))
