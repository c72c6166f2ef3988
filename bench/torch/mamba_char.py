"""The mamba-char training step of bench/src/workloads/mamba.ts in PyTorch: the MambaLMHeadModel
transcription of packages/mamba/scripts/make_mamba_fixture.py (state-spaces/mamba's names and math,
its selective_scan_ref: a Python loop over time, as the reference's slow path) at the size of
`dl train mamba-char` (7 layers, d_model 128, d_state 16, 89 characters), batch 12 x 64 characters,
AdamW without decay on A_log, D, biases and norms, gradients clipped to norm 1.

    mamba_char.py [T batch reps [warmup]]    (default 64 12 5 1: windows of T characters, as bench/src/lengths.ts)

warmup 0 times the first step (which also makes AdamW's state): at T=1,024 a step takes minutes,
as the backward of the loop's per-step indexing (dA[:, :, t]) writes a whole (b, d, l, n) gradient
every time step, O(L^2) in all."""
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "packages", "mamba", "scripts"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import report, timed  # noqa: E402
from make_mamba_fixture import MambaLMHeadModel  # noqa: E402

T, batch, reps, warmup = ([int(a) for a in sys.argv[1:5]] + [1])[:4] if len(sys.argv) > 1 else (64, 12, 5, 1)
torch.manual_seed(0)
config = {"d_model": 128, "n_layer": 7, "vocab_size": 89, "ssm_cfg": {"d_state": 16, "d_conv": 4, "expand": 2}, "pad_vocab_size_multiple": 8}
model = MambaLMHeadModel(config)
params = [p for p in model.parameters() if p.requires_grad]
decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.endswith("A_log")]
ids = {id(p) for p in decay}
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": [p for p in params if id(p) not in ids], "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
x = torch.randint(0, 89, (batch, T))
y = torch.randint(0, 89, (batch, T))


def step():
    opt.zero_grad(set_to_none=True)
    logits = model(x)
    F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


report(timed(step, reps=reps, warmup=bool(warmup)))
