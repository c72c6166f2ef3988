"""The BERT fixtures of @dl/bert's model tests (tested with torch 1.13; transformers is not needed).

    /usr/bin/python3 packages/bert/scripts/make_bert_fixture.py

writes, under packages/bert/fixtures/:
    bert-tiny-mlm/     config.json + model.safetensors as transformers' BertForMaskedLM.save_pretrained
                       writes them (no pooler; the decoder weight and bias tied, so left out)
    bert-tiny-cls/     the same encoder as BertForSequenceClassification (pooler, classifier; 3 labels)
    bert-tiny-legacy/  the same weights in the layout of the hub's original checkpoints (BertForPreTraining):
                       LayerNorm gamma/beta, the position_ids buffer (int64), decoder.weight and decoder.bias
                       stored, the next-sentence head cls.seq_relationship
    bert-tiny-io.safetensors  a padded batch with token types, and what the models give for it: every hidden
                       state, the pooler output, MLM logits, classifier logits, mean-pooled sentence
                       embeddings, the MLM and classification losses and the MLM model's gradients

The modules below transcribe transformers' modeling_bert.py (BertModel, BertForMaskedLM,
BertForSequenceClassification) with its parameter names and math: exact (erf) GELU, LayerNorm with the
config's eps, padded keys masked by adding torch.finfo(dtype).min, a tanh pooler on [CLS], the MLM decoder
tied to the word embeddings plus its own bias. Weights are spread wider than BERT's init (std 0.02) so a
wrong GELU, eps or mask shows well above float32 rounding.
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

CONFIG = dict(
    vocab_size=64,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=48,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    max_position_embeddings=16,
    type_vocab_size=3,
    initializer_range=0.02,
    layer_norm_eps=1e-3,  # far from nn.LayerNorm's 1e-5 default, so ignoring the config shows
    pad_token_id=0,
    position_embedding_type="absolute",
    classifier_dropout=None,
    model_type="bert",
)
NUM_LABELS = 3


class Config:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids):
        T = input_ids.shape[1]
        position_ids = torch.arange(T).unsqueeze(0)
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(e))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_attention_heads = c.num_attention_heads
        self.attention_head_size = c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

    def split(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.num_attention_heads, self.attention_head_size).permute(0, 2, 1, 3)

    def forward(self, h, mask):
        q, k, v = self.split(self.query(h)), self.split(self.key(h)), self.split(self.value(h))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.attention_head_size) + mask
        p = self.dropout(torch.softmax(scores, dim=-1))
        ctx = (p @ v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], -1)


class BertSelfOutput(nn.Module):
    def __init__(self, c, width_in):
        super().__init__()
        self.dense = nn.Linear(width_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, h, residual):
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c, c.hidden_size)

    def forward(self, h, mask):
        return self.output(self.self(h, mask), h)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

    def forward(self, h):
        return F.gelu(self.dense(h))  # exact erf GELU (ACT2FN["gelu"])


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertSelfOutput(c, c.intermediate_size)  # BertOutput: the same shape of module

    def forward(self, h, mask):
        a = self.attention(h, mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, h, mask):
        states = [h]
        for layer in self.layer:
            h = layer(h, mask)
            states.append(h)
        return states


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c, add_pooling_layer=True):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c) if add_pooling_layer else None

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        dtype = self.embeddings.word_embeddings.weight.dtype
        # get_extended_attention_mask: (B, 1, 1, S), 0 where kept, the dtype's lowest value where padded
        ext = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        states = self.encoder(self.embeddings(input_ids, token_type_ids), ext)
        pooled = self.pooler(states[-1]) if self.pooler is not None else None
        return states[-1], pooled, states


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, h):
        return self.LayerNorm(F.gelu(self.dense(h)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transform = BertPredictionHeadTransform(c)
        self.decoder = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.decoder.bias = self.bias

    def forward(self, h):
        return self.decoder(self.transform(h))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.predictions = BertLMPredictionHead(c)


class BertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(c)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight  # tie_weights()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        h, _, _ = self.bert(input_ids, attention_mask, token_type_ids)
        return self.cls.predictions(h)


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.dropout = nn.Dropout(c.classifier_dropout if c.classifier_dropout is not None else c.hidden_dropout_prob)
        self.classifier = nn.Linear(c.hidden_size, c.num_labels)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        _, pooled, _ = self.bert(input_ids, attention_mask, token_type_ids)
        return self.classifier(self.dropout(pooled))


def spread(model, gen):
    """Random weights wider than BERT's init; padding_idx's word embedding stays zero as BERT's init leaves it."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("LayerNorm.weight"):
                p.uniform_(0.5, 1.5, generator=gen)
            elif name.endswith("bias"):
                p.normal_(0, 0.1, generator=gen)
            elif "embeddings" in name:
                p.normal_(0, 0.5, generator=gen)
            else:
                p.normal_(0, 0.15, generator=gen)
        model.bert.embeddings.word_embeddings.weight[CONFIG["pad_token_id"]].zero_()


def config_json(architecture, **extra):
    """config.json as BertConfig.save_pretrained writes it (sorted keys, two-space indent)."""
    d = dict(CONFIG, architectures=[architecture], torch_dtype="float32", use_cache=True, **extra)
    return json.dumps(d, indent=2, sort_keys=True) + "\n"


def write_folder(name, config_text, tensors):
    folder = os.path.join(FIXTURES, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(config_text)
    save(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(14)
    c = Config(**CONFIG, num_labels=NUM_LABELS)
    cls_model = BertForSequenceClassification(c)
    spread(cls_model, gen)
    mlm = BertForMaskedLM(c)
    with torch.no_grad():
        # one encoder for both heads: the MLM model takes the classifier's weights (less its pooler)
        mlm.bert.load_state_dict({k: v for k, v in cls_model.bert.state_dict().items() if not k.startswith("pooler.")})
        for name, p in mlm.cls.named_parameters():
            if name == "predictions.decoder.weight":
                continue  # the word embeddings (tied)
            p.copy_(torch.empty_like(p).uniform_(0.5, 1.5, generator=gen) if name.endswith("LayerNorm.weight") else torch.empty_like(p).normal_(0, 0.15 if "dense" in name else 0.3, generator=gen))
    mlm.eval()
    cls_model.eval()

    # a padded batch: row 0 full, rows 1 and 2 padded at the end; two or three segments
    B, T = 3, 12
    ids = torch.randint(1, CONFIG["vocab_size"], (B, T), generator=gen)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 8:] = 0
    mask[2, 5:] = 0
    types = torch.zeros(B, T, dtype=torch.long)
    types[0, 6:] = 1
    types[1, 4:8] = 1
    types[2, 2:4] = 1
    types[2, 4] = 2
    ids = ids.masked_fill(mask == 0, CONFIG["pad_token_id"])
    # MLM labels: some unpadded positions chosen, the rest -100 (ignored)
    chosen = (torch.rand(B, T, generator=gen) < 0.3) & (mask == 1)
    chosen[0, 1] = True
    mlm_labels = torch.where(chosen, torch.randint(0, CONFIG["vocab_size"], (B, T), generator=gen), torch.full((B, T), -100))
    cls_labels = torch.tensor([2, 0, 1])

    with torch.no_grad():
        last, pooled, states = cls_model.bert(ids, mask, types)
        cls_logits = cls_model(ids, mask, types)
        last_plain, pooled_plain, _ = cls_model.bert(ids)  # no mask, no token types: all kept, segment 0
        # sentence-transformers' mean pooling, and F.normalize of it
        m = mask.unsqueeze(-1).expand(last.size()).float()
        mean = (last * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
        cls_loss = F.cross_entropy(cls_logits, cls_labels)
    logits = mlm(ids, mask, types)
    mlm_loss = F.cross_entropy(logits.view(-1, CONFIG["vocab_size"]), mlm_labels.view(-1), ignore_index=-100)
    mlm_loss.backward()

    io = {
        "input_ids": ids.int(), "attention_mask": mask.int(), "token_type_ids": types.int(),
        "last_hidden_state": last, "pooler_output": pooled,
        "last_hidden_state_plain": last_plain, "pooler_output_plain": pooled_plain,
        "mlm_logits": logits.detach(), "mlm_labels": mlm_labels.int(), "mlm_loss": mlm_loss.detach().reshape(1),
        "cls_logits": cls_logits, "cls_labels": cls_labels.int(), "cls_loss": cls_loss.reshape(1),
        "mean_pooled": mean, "mean_pooled_normalized": F.normalize(mean, p=2, dim=1),
    }
    for i, s in enumerate(states):
        io[f"hidden_states.{i}"] = s
    for name, p in mlm.named_parameters():  # the tied decoder weight is the word embedding: listed once
        io[f"grad.{name}"] = p.grad
    os.makedirs(FIXTURES, exist_ok=True)
    save(os.path.join(FIXTURES, "bert-tiny-io.safetensors"), io)

    mlm_sd = {k: v for k, v in mlm.state_dict().items() if k not in ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias")}
    write_folder("bert-tiny-mlm", config_json("BertForMaskedLM"), mlm_sd)
    labels = {str(i): f"LABEL_{i}" for i in range(NUM_LABELS)}
    write_folder("bert-tiny-cls", config_json("BertForSequenceClassification", id2label=labels, label2id={v: int(k) for k, v in labels.items()}),
                 cls_model.state_dict())

    # the hub's original checkpoints: BertForPreTraining's keys with TensorFlow's gamma/beta names
    legacy = {}
    for k, v in {**cls_model.state_dict(), **mlm.state_dict()}.items():
        if k.startswith("classifier."):
            continue
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        legacy[k] = v
    legacy["bert.embeddings.position_ids"] = torch.arange(CONFIG["max_position_embeddings"]).unsqueeze(0)
    legacy["cls.seq_relationship.weight"] = torch.randn(2, CONFIG["hidden_size"], generator=gen)
    legacy["cls.seq_relationship.bias"] = torch.randn(2, generator=gen)
    write_folder("bert-tiny-legacy", config_json("BertForPreTraining"), legacy)
    print("bert fixtures: max |mlm logit|", float(logits.abs().max()), "mlm loss", float(mlm_loss), "cls loss", float(cls_loss))


if __name__ == "__main__":
    main()
