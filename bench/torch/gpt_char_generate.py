"""Generation speed of the gpt-char model in PyTorch, as bench/src/generate.ts measures ours: batch 1,
greedy, from one token to each length in argv (default 64 256), with and without the KV cache, on a
model whose block is `--block B` (default: the longest length). Prints {"tokens_per_s": {"cache 64": ...,
"no cache 64": ...}}."""
import sys

sys.dont_write_bytecode = True
import json  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from gpt_char_model import generate, gpt_char  # noqa: E402

torch.set_num_threads(2)
args = sys.argv[1:]
block = None
if "--block" in args:
    i = args.index("--block")
    block = int(args[i + 1])
    del args[i : i + 2]
lengths = [int(a) for a in args] or [64, 256]
torch.manual_seed(0)
model = gpt_char(block=block or max(lengths)).eval()
ids = torch.zeros((1, 1), dtype=torch.long)
out = {}
for n in lengths:
    for use_cache in (True, False):
        generate(model, ids, 8, use_cache)  # warm-up
        ts = []
        # the median of 3; one run without the cache, whose O(T^2) runs take minutes on a busy machine
        for _ in range(3 if use_cache else 1):
            t0 = time.perf_counter()
            generate(model, ids, n - 1, use_cache)
            ts.append(time.perf_counter() - t0)
        out[f"{'cache' if use_cache else 'no cache'} {n}"] = (n - 1) / sorted(ts)[len(ts) // 2]
print(json.dumps({"tokens_per_s": out}))
