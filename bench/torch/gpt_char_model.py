"""The model of `dl train gpt-char` in PyTorch: packages/transformer/fixtures/gpt2_torch.py's
transcription of GPT2LMHeadModel (the names and math @dl/transformer's GPT is checked against)
at nanoGPT's CPU size, with exact GELU, biases and no dropout, as apps/sample's gptCharConfig.
Also the generation loops of the bench: the whole window every token, or a KV cache."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packages", "transformer", "fixtures"))
from gpt2_torch import GPT2Config, GPT2LMHeadModel  # noqa: E402


def gpt_char(vocab=89, block=64, layers=4, heads=4, width=128):
    """GPT2LMHeadModel(4 layers, 4 heads, 128 wide, block 64, vocabulary 89): 804,736 parameters without wpe."""
    return GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=block, n_embd=width, n_layer=layers, n_head=heads,
                                      activation_function="gelu", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))


def adamw(model, lr=1e-3, weight_decay=0.1):
    """nanoGPT's configure_optimizers: decay on matrices and embeddings, none on biases and LayerNorms; betas (0.9, 0.99)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99))


def loss_of(model, x, y):
    logits, _ = model(x)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))


@torch.no_grad()
def generate(model, ids, new_tokens, use_cache):
    """Greedy tokens after ids (1, T): with the KV cache one position per token, else the whole sequence every token."""
    model.eval()
    logits, past = model(ids)
    for _ in range(new_tokens):
        nxt = logits[:, -1, :].argmax(-1, keepdim=True)
        ids = torch.cat([ids, nxt], dim=1)
        logits, past = model(nxt, past) if use_cache else model(ids)
    return ids
