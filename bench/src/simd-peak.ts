/**
 * The arithmetic ceiling of WebAssembly SIMD128 on this machine, for the matmul rows to be read
 * against: CHAINS independent register chains acc = acc * a + b (an f32x4 mul and an f32x4 add,
 * 8 flops, no memory traffic), on @dl/tensor's own worker threads. No kernel that also loads its
 * operands can pass it. Twelve chains cover the mul -> add latency; more spill registers in V8
 * (measured: 14 chains ran at half the rate).
 */
import * as dl from '@dl/tensor';
import { compileKernel, i32, kernelHeapF32, kernelScratch, v128, type WasmKernel } from '@dl/tensor/wasm';
import { gflops, time } from './timing.js';

const CHAINS = 12;
const ITERS = 1 << 21; // per task: ~10 ms on one core

let kernel: WasmKernel | undefined;

function peakKernel(): WasmKernel {
  return (kernel ??= compileKernel((m) => {
    // peak(task, tid, iters, out): out[task] = a lane of the chains' sum, so none is dead code
    const f = m.func('peak', [i32, i32, i32, i32]);
    const [task, , iters, out] = [0, 1, 2, 3];
    const acc = Array.from({ length: CHAINS }, () => f.local(v128));
    const a = f.local(v128), b = f.local(v128);
    f.f32x4Const(0.999).set(a);
    f.f32x4Const(0.001).set(b);
    for (const x of acc) f.f32x4Const(1).set(x);
    f.loop((top) => {
      for (const x of acc) f.get(x).get(a).f32x4Mul().get(b).f32x4Add().set(x);
      f.get(iters).i32Const(1).i32Sub().tee(iters).brIf(top);
    });
    for (let i = 1; i < CHAINS; i++) f.get(acc[0]).get(acc[i]).f32x4Add().set(acc[0]);
    f.get(task).i32Const(2).i32Shl().get(out).i32Add().get(acc[0]).f32x4ExtractLane(0).f32Store();
  }));
}

/** GFLOP/s of the chains on `threads` threads (2 tasks a thread), median of a few runs. */
export async function simdPeak(threads: number): Promise<string> {
  dl.setNumThreads(threads);
  const k = peakKernel();
  const tasks = 2 * threads;
  const run = () => {
    kernelScratch.reset();
    const out = kernelScratch.alloc(4 * tasks);
    kernelScratch.reserve();
    k.run('peak', tasks, [ITERS, out], threads);
    if (!Number.isFinite(kernelHeapF32()[out / 4])) throw new Error('simd peak: the chains diverged');
  };
  return gflops(tasks * ITERS * CHAINS * 8, await time(run, { minReps: 5, budgetMs: 1000 }));
}
