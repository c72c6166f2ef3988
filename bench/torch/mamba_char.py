"""The mamba-char training step of bench/src/workloads/mamba.ts in PyTorch: the MambaLMHeadModel
transcription of packages/mamba/scripts/make_mamba_fixture.py (state-spaces/mamba's names and math,
its selective_scan_ref: a Python loop over time, as the reference's slow path) at the size of
`dl train mamba-char` (7 layers, d_model 128, d_state 16, 89 characters), batch 12 x 64 characters,
AdamW without decay on A_log, D, biases and norms, gradients clipped to norm 1."""
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "packages", "mamba", "scripts"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import report, timed  # noqa: E402
from make_mamba_fixture import MambaLMHeadModel  # noqa: E402

torch.manual_seed(0)
config = {"d_model": 128, "n_layer": 7, "vocab_size": 89, "ssm_cfg": {"d_state": 16, "d_conv": 4, "expand": 2}, "pad_vocab_size_multiple": 8}
model = MambaLMHeadModel(config)
params = [p for p in model.parameters() if p.requires_grad]
decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.endswith("A_log")]
ids = {id(p) for p in decay}
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": [p for p in params if id(p) not in ids], "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
x = torch.randint(0, 89, (12, 64))
y = torch.randint(0, 89, (12, 64))


def step():
    opt.zero_grad(set_to_none=True)
    logits = model(x)
    F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


report(timed(step, reps=5))
