#!/usr/bin/env python3
"""Writes the BertTokenizer fixtures of @dl/bert: two small vocabularies (uncased and cased) and the
tokens, ids, encodings and decodings that the reference algorithm gives for a set of tricky strings.

The reference is Hugging Face transformers' BertTokenizer (BasicTokenizer + WordpieceTokenizer, the
special-token splitting of PreTrainedTokenizer.tokenize, truncate_sequences, decode with
clean_up_tokenization), itself Google BERT's tokenization.py. transformers cannot be installed here,
so the algorithm is written out below in plain Python with the standard library only.

    /usr/bin/python3 packages/bert/scripts/make_tokenizer_fixture.py
    # -> packages/bert/fixtures/tokenizer-uncased-vocab.txt, tokenizer-cased-vocab.txt, tokenizer-cases.json
"""
import json
import os
import re
import string
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures")

# ---------------------------------------------------------------- the reference algorithm


def is_whitespace(ch):
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_chinese_char(cp):
    ranges = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]
    return any(lo <= cp <= hi for lo, hi in ranges)


def whitespace_split(text):
    return text.strip().split()


class Basic:
    def __init__(self, lower=True, never_split=(), chinese=True, strip_accents=None):
        self.lower, self.never_split, self.chinese, self.strip = lower, set(never_split), chinese, strip_accents

    def clean(self, text):
        out = []
        for ch in text:
            if ord(ch) in (0, 0xFFFD) or is_control(ch):
                continue
            out.append(" " if is_whitespace(ch) else ch)
        return "".join(out)

    def space_cjk(self, text):
        return "".join(" %s " % ch if is_chinese_char(ord(ch)) else ch for ch in text)

    def strip_accents(self, text):
        return "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")

    def split_punc(self, text, never_split):
        if text in never_split:
            return [text]
        words, fresh = [], True
        for ch in text:
            if is_punctuation(ch):
                words.append([ch])
                fresh = True
            else:
                if fresh:
                    words.append([])
                fresh = False
                words[-1].append(ch)
        return ["".join(w) for w in words]

    def tokenize(self, text, never_split=()):
        never_split = self.never_split | set(never_split)
        text = self.clean(text)
        if self.chinese:
            text = self.space_cjk(text)
        pieces = []
        for tok in whitespace_split(text):
            if tok not in never_split:
                if self.lower:
                    tok = tok.lower()
                    if self.strip is not False:
                        tok = self.strip_accents(tok)
                elif self.strip:
                    tok = self.strip_accents(tok)
            pieces.extend(self.split_punc(tok, never_split))
        return whitespace_split(" ".join(pieces))


def wordpiece(vocab, unk, text, max_chars=100):
    out = []
    for tok in whitespace_split(text):
        chars = list(tok)
        if len(chars) > max_chars:
            out.append(unk)
            continue
        start, sub, bad = 0, [], False
        while start < len(chars):
            end, cur = len(chars), None
            while start < end:
                s = "".join(chars[start:end])
                if start > 0:
                    s = "##" + s
                if s in vocab:
                    cur = s
                    break
                end -= 1
            if cur is None:
                bad = True
                break
            sub.append(cur)
            start = end
        out.extend([unk] if bad else sub)
    return out


SPECIALS = ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]  # all_special_tokens' order


class Bert:
    def __init__(self, vocab_lines, lower=True, never_split=()):
        self.vocab = {}
        for i, t in enumerate(vocab_lines):
            self.vocab[t] = i
        self.inv = dict(enumerate(vocab_lines))
        self.basic = Basic(lower=lower, never_split=never_split)

    def _tokenize(self, text):
        out = []
        for tok in self.basic.tokenize(text, never_split=SPECIALS):
            if tok in self.basic.never_split:
                out.append(tok)
            else:
                out.extend(wordpiece(self.vocab, "[UNK]", tok))
        return out

    def tokenize(self, text):
        # PreTrainedTokenizer.tokenize: with do_lower_case, lower-case everything but the special
        # tokens first, one character at a time (the lazy (.+?) matches single characters, so no
        # final-sigma rule), and never-split words must be lower-case to survive it
        if self.basic.lower:
            pattern = "(" + "|".join(re.escape(t) for t in SPECIALS) + ")|(.+?)"
            text = re.sub(pattern, lambda m: m.groups()[0] or m.groups()[1].lower(), text)
        # then special tokens in the text stay whole (longest first)
        chunks = [text]
        for sp in sorted(SPECIALS, key=len, reverse=True):
            nxt = []
            for c in chunks:
                if c in SPECIALS:
                    nxt.append(c)
                    continue
                parts = c.split(sp)
                for i, p in enumerate(parts):
                    if i:
                        nxt.append(sp)
                    nxt.append(p)
            chunks = nxt
        out = []
        for c in chunks:
            if c in SPECIALS:
                out.append(c)
            elif c:
                out.extend(self._tokenize(c))
        return out

    def ids(self, tokens):
        return [self.vocab.get(t, self.vocab["[UNK]"]) for t in tokens]

    def decode(self, ids, skip_special_tokens=False):
        special_ids = {self.vocab[t] for t in SPECIALS}
        toks = [self.inv[i] for i in ids if not (skip_special_tokens and i in special_ids)]
        text = " ".join(toks).replace(" ##", "").strip()
        for a, b in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                     (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]:
            text = text.replace(a, b)
        return text

    def encode(self, text, pair=None, max_length=None, truncation="longest_first", padding=False):
        a = self.ids(self.tokenize(text))
        b = self.ids(self.tokenize(pair)) if pair is not None else None
        n_special = 3 if b is not None else 2
        total = len(a) + (len(b) if b is not None else 0) + n_special
        if max_length is not None and total > max_length:
            remove = total - max_length
            if truncation == "longest_first":
                # truncate_sequences: one token at a time from the longer, the pair on ties
                for _ in range(remove):
                    if b is None or len(a) > len(b):
                        a = a[:-1]
                    else:
                        b = b[:-1]
            elif truncation == "only_first":
                assert len(a) > remove
                a = a[:-remove]
            elif truncation == "only_second":
                assert b is not None and len(b) > remove
                b = b[:-remove]
        cls, sep, pad = self.vocab["[CLS]"], self.vocab["[SEP]"], self.vocab["[PAD]"]
        ids = [cls] + a + [sep] + (b + [sep] if b is not None else [])
        types = [0] * (len(a) + 2) + ([1] * (len(b) + 1) if b is not None else [])
        mask = [1] * len(ids)
        if padding == "max_length":
            n = max_length - len(ids)
            ids, types, mask = ids + [pad] * n, types + [0] * n, mask + [0] * n
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


# ---------------------------------------------------------------- the vocabularies and strings

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LOWER = list(string.ascii_lowercase)
DIGITS = list(string.digits)
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["\u3002", "\uff01", "\u2014", "\u00bf", "\u00a1"]
WORDS = ["the", "hello", "world", "wor", "##ld", "un", "##aff", "##able", "cafe", "token", "##izer",
         "##ization", "##ing", "##ed", "run", "jump", "data", "and", "text", "don", "stop",
         "istanbul", "straße", "##ß", "οδος", "ο", "##δ", "##ο", "##ς", "##σ", "\U0001F600",
         "\u6570", "\u636e", "\u5b66", "\u4e2d", "\u6587", "\u65e5", "\u672c", "\U00020000",
         "multiple", "spaces", "tabs", "newlines", "end", "nbsp", "ideographic", "line", "mask",
         "hash", "pi", "##ana", "man", "co", "##op", "##era", "##te", "\ufb01", "##ne"]
CASED_EXTRA = ["Hello", "World", "##é", "##ö", "Héllo", "Paris", "İ", "##stanbul", "Ω",
               "The", "##llo", "ΟΔΟΣ", "ＡＢＣ"]

UNCASED = BERT_SPECIALS + LOWER + ["##" + c for c in LOWER] + DIGITS + ["##" + d for d in DIGITS] + PUNCT + WORDS
CASED = (BERT_SPECIALS + LOWER + list(string.ascii_uppercase) + ["##" + c for c in LOWER + list(string.ascii_uppercase)]
         + DIGITS + ["##" + d for d in DIGITS] + PUNCT + WORDS + CASED_EXTRA)

TEXTS = [
    "Héllo wörld",
    "Hello, World!!! ...?!",
    "unaffable tokenization",
    "\u6570\u636e\u79d1\u5b66 and \u4e2d\u6587text\u65e5\u672c\u8a9e",
    "I \U0001F600 tokens \U0001F44D\U0001F3FD \U0001F468\u200d\U0001F469\u200d\U0001F467 ok\U0001F600",
    "a\u0000b\u0007c\u200bd\ufffde \u0085f\u00adg",
    "xyzzy \u0167 \u03a9mega ma\u00f1ana",
    "a" * 100 + " " + "b" * 101,
    "##ing ## #hash",
    "  multiple   spaces\t\ttabs\n\nnewlines\r\n end  \u00a0nbsp\u3000ideographic\u2028line",
    "[CLS] hello [MASK] world[SEP]",
    "[mask] [MASK][MASK] x[UNK]y",
    "don't stop, she's running",
    "\u039f\u0394\u039f\u03a3",
    "\u0130stanbul Stra\u00dfe",
    "cafe\u0301 e\u0301 \u0301\u0302 x",
    "\uff21\uff22\uff23\uff01 \u00bfque? \u00a1si!",
    "3.14 $100 50% 2\u20143",
    "\U00020000\U00020001x",
    "\ufb01ne co\u00adoperate",
    "",
    "   \t \n ",
    "Paris ΩΩ The",
]

PAIRS = [
    # (text, pair, max_length, truncation, padding)
    ("hello world the end", "running jumped data", 8, "longest_first", False),
    ("hello world the end and more text", "stop", 9, "longest_first", "max_length"),
    ("a b", "c d e f g h i j", 8, "longest_first", False),
    ("a b c d", "e f g h", 9, "longest_first", False),
    ("hello world the end", "x", 6, "only_first", False),
    ("x", "hello world the end", 6, "only_second", "max_length"),
    ("hello world the end and more", None, 5, "longest_first", False),
    ("short", None, 10, "longest_first", "max_length"),
    ("un\u00e4ffable caf\u00e9!", "\u4e2d\u6587 ok", 32, "longest_first", "max_length"),
]

CONFIGS = {
    "uncased": {"vocab": "tokenizer-uncased-vocab.txt", "lines": UNCASED, "do_lower_case": True, "never_split": []},
    "cased": {"vocab": "tokenizer-cased-vocab.txt", "lines": CASED, "do_lower_case": False, "never_split": []},
    "uncased-never-split": {"vocab": "tokenizer-uncased-vocab.txt", "lines": UNCASED, "do_lower_case": True,
                            "never_split": ["HELLO!!", "don't"]},
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in ("uncased", "cased"):
        c = CONFIGS[name]
        assert len(set(c["lines"])) == len(c["lines"]), name + " vocabulary has duplicates"
        with open(os.path.join(OUT, c["vocab"]), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(t + "\n" for t in c["lines"]))
    cases = {"python": sys.version.split()[0], "unidata": unicodedata.unidata_version, "configs": {}, "tokenize": [], "encode": []}
    for name, c in CONFIGS.items():
        cases["configs"][name] = {"vocab": c["vocab"], "doLowerCase": c["do_lower_case"], "neverSplit": c["never_split"]}
        tok = Bert(c["lines"], lower=c["do_lower_case"], never_split=c["never_split"])
        texts = TEXTS + (["HELLO!! world don't", "say HELLO!!, don't!"] if c["never_split"] else [])
        for text in texts:
            tokens = tok.tokenize(text)
            ids = tok.ids(tokens)
            full = tok.encode(text)["input_ids"]
            cases["tokenize"].append({"config": name, "text": text, "tokens": tokens, "ids": ids,
                                      "decoded": tok.decode(full), "decodedSkip": tok.decode(full, skip_special_tokens=True)})
        if c["never_split"]:
            continue
        for text, pair, max_length, truncation, padding in PAIRS:
            enc = tok.encode(text, pair, max_length=max_length, truncation=truncation, padding=padding)
            cases["encode"].append({"config": name, "text": text, "pair": pair, "maxLength": max_length,
                                    "truncation": truncation, "padding": padding, "inputIds": enc["input_ids"],
                                    "tokenTypeIds": enc["token_type_ids"], "attentionMask": enc["attention_mask"]})
    with open(os.path.join(OUT, "tokenizer-cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("tokenizer fixtures:", len(cases["tokenize"]), "tokenize cases,", len(cases["encode"]), "encode cases;",
          len(UNCASED), "uncased and", len(CASED), "cased tokens")


if __name__ == "__main__":
    main()
