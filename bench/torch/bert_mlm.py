"""The bert-mlm training step of bench/src/workloads/bert.ts in PyTorch: the BertForMaskedLM of
`dl train bert-mlm` (4 layers, 4 heads, 128 wide, feed-forward 512, 128 positions, vocabulary 8,000,
no dropout) from packages/bert/scripts/make_bert_fixture.py's transcription of transformers' BERT
(the names and math @dl/bert is checked against), on 16 windows of 128 tokens with every 7th
position chosen, the MLM head on the chosen positions only, AdamW with no decay on biases and
LayerNorms, gradients clipped to norm 1. Prints the median ms/step of 5 steps after a warm-up (a step
takes 10-20 s with Debian's reference BLAS, so 20 would pass the bench's 600 s limit on a busy machine)."""
import os
import sys

sys.dont_write_bytecode = True
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import report, timed  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packages", "bert", "scripts"))
from make_bert_fixture import BertForMaskedLM, Config  # noqa: E402

B, T, V, H = 16, 128, 8000, 128
config = Config(vocab_size=V, hidden_size=H, num_hidden_layers=4, num_attention_heads=4, intermediate_size=4 * H,
                hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, max_position_embeddings=T,
                type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0)

torch.manual_seed(0)
model = BertForMaskedLM(config)
params = list(model.parameters())
opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.01},
                         {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.98), eps=1e-6)
ids = torch.randint(5, V, (B, T))
ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP]
# the same positions as the @dl step: every 7th token of each row (not [CLS] or [SEP]), 14% of the tokens
positions = torch.tensor([b * T + t for b in range(B) for t in range(1, T - 1) if t % 7 == 3])
targets = torch.randint(5, V, (len(positions),))


def step():
    opt.zero_grad(set_to_none=True)
    h, _, _ = model.bert(ids)  # (B, T, H)
    logits = model.cls.predictions(h.reshape(B * T, H)[positions])  # (N, V)
    F.cross_entropy(logits, targets).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


report(timed(step, reps=5))
