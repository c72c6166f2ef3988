"""The gpt-char training step of bench/src/workloads/gpt.ts in PyTorch: the model of
`dl train gpt-char` (gpt_char_model.py), batch 12 x 64 characters, AdamW with nanoGPT's groups,
gradients clipped to norm 1.

    gpt_char.py [T batch reps]    (default 64 12 20: the block and the windows T long, as bench/src/lengths.ts)"""
import sys

sys.dont_write_bytecode = True
import torch  # noqa: E402
from common import report, timed  # noqa: E402
from gpt_char_model import adamw, gpt_char, loss_of  # noqa: E402

T, batch, reps = (int(a) for a in sys.argv[1:4]) if len(sys.argv) > 1 else (64, 12, 20)
torch.manual_seed(0)
model = gpt_char(block=T)
opt = adamw(model)
x = torch.randint(0, 89, (batch, T))
y = torch.randint(0, 89, (batch, T))


def step():
    opt.zero_grad(set_to_none=True)
    loss_of(model, x, y).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


report(timed(step, reps=reps))
