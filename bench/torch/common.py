"""Shared by the PyTorch timing scripts of bench/: 2 threads, median ms over repeats, one JSON line."""
import json, time
import torch

torch.set_num_threads(2)


def timed(step, reps=20, warmup=True):
    """Median wall time of step() in ms, after one warm-up call (none with warmup=False, for steps of minutes)."""
    if warmup:
        step()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); step(); ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]


def report(ms):
    """The line bench/src/peers.ts reads."""
    print(json.dumps({"ms": ms}))
