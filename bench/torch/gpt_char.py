"""The gpt-char training step of bench/src/workloads/gpt.ts in PyTorch: the model of
`dl train gpt-char` (gpt_char_model.py), batch 12 x 64 characters, AdamW with nanoGPT's groups,
gradients clipped to norm 1."""
import sys

sys.dont_write_bytecode = True
import torch  # noqa: E402
from common import report, timed  # noqa: E402
from gpt_char_model import adamw, gpt_char, loss_of  # noqa: E402

torch.manual_seed(0)
model = gpt_char()
opt = adamw(model)
x = torch.randint(0, 89, (12, 64))
y = torch.randint(0, 89, (12, 64))


def step():
    opt.zero_grad(set_to_none=True)
    loss_of(model, x, y).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


report(timed(step))
