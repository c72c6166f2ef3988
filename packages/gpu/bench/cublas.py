"""cuBLAS fp32 matmul TFLOP/s through PyTorch, the yardstick printed beside bench/gpu-bench.ts on
a CUDA machine (run both in the same device session). TF32 is off, so this is true fp32."""
import time

try:
    import torch
except ImportError:
    print("cublas: torch is not installed here")
    raise SystemExit(0)
if not torch.cuda.is_available():
    print("cublas: no CUDA device")
    raise SystemExit(0)

torch.backends.cuda.matmul.allow_tf32 = False
print(f"cublas: {torch.cuda.get_device_name()} (torch {torch.__version__})")
for n in (256, 1024, 2048, 4096):
    a = torch.randn(n, n, device="cuda")
    b = torch.randn(n, n, device="cuda")
    reps = 50 if n <= 2048 else 20
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) / reps)
    t = sorted(times)[len(times) // 2]
    print(f"cublas matmul {n}x{n}x{n} fp32: {2 * n ** 3 / t / 1e12:.2f} TFLOP/s")
