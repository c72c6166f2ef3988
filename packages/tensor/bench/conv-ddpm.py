# PyTorch's time for the conv shapes of bench/conv-ddpm.ts (read as JSON on stdin): forward,
# backward-input and backward-weight (aten.convolution_backward with one output each), ms, best
# of `reps`, at the given thread count: wall clock, or with "cpu" this process's CPU time (all its
# threads; steadier on a shared machine). Prints one JSON list of [fwd, bwdInput, bwdWeight].
import json, sys, time
import torch

cfg = json.load(sys.stdin)
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)
reps = cfg["reps"]
clock = time.process_time if cfg.get("cpu") else time.perf_counter

def best(fn):
    fn()
    t = float("inf")
    for _ in range(reps):
        t0 = clock()
        fn()
        t = min(t, clock() - t0)
    return 1000 * t

rows = []
with torch.no_grad():
    for s in cfg["shapes"]:
        N, C, H, W, O, k, stride, pad = s
        x = torch.randn(N, C, H, W)
        w = torch.randn(O, C, k, k)
        y = torch.nn.functional.conv2d(x, w, stride=stride, padding=pad)
        dy = torch.randn_like(y)
        args = (dy, x, w, None, [stride, stride], [pad, pad], [1, 1], False, [0, 0], 1)
        rows.append([
            best(lambda: torch.nn.functional.conv2d(x, w, stride=stride, padding=pad)),
            best(lambda: torch.ops.aten.convolution_backward(*args, [True, False, False])),
            best(lambda: torch.ops.aten.convolution_backward(*args, [False, True, False])),
        ])
print(json.dumps(rows))
