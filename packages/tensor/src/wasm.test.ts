import { describe, expect, it } from 'vitest';
import { ModuleBuilder, compileKernel, i32, kernelHeapF32, kernelScratch, simdSupported, v128, vecLocals, vexp } from './wasm.js';
import { initWasmThreads, setNumThreads } from './cpu/wasm/pool.js';

/** A module importing `memory` with one exported function made by `body`. */
function instantiate<F>(name: string, params: number, body: (f: ReturnType<ModuleBuilder['func']>) => void): { fn: F; memory: WebAssembly.Memory } {
  const m = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 16, shared: false });
  body(m.func(name, Array.from({ length: params }, () => i32)));
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16 });
  const ex = new WebAssembly.Instance(new WebAssembly.Module(m.bytes() as BufferSource), { env: { memory } }).exports;
  return { fn: ex[name] as F, memory };
}

describe('@dl/tensor/wasm (the public emitter)', () => {
  it('SIMD128 validates in this engine', () => expect(simdSupported()).toBe(true));

  it("runs the README's example: a module that doubles floats four at a time", () => {
    const { fn: double, memory } = instantiate<(at: number, n: number) => void>('double', 2, (f) =>
      f.block((done) =>
        f.loop((top) => {
          f.get(1).i32Eqz().brIf(done);
          f.get(0).get(0).v128Load().get(0).v128Load().f32x4Add().v128Store();
          f.get(0).i32Const(16).i32Add().set(0).get(1).i32Const(4).i32Sub().set(1).br(top);
        }),
      ),
    );
    const x = new Float32Array(memory.buffer, 0, 8);
    x.set([1, 2, 3, 4, 5, 6, 7, 8]);
    double(0, 8);
    expect(Array.from(x)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
  });

  it('vexp gives exp within 2 ulp-ish relative error over float32 range, 0 for large negatives', () => {
    const { fn: vexpAt, memory } = instantiate<(at: number) => void>('exp4', 1, (f) => {
      const t = vecLocals(f);
      const x = f.local(v128);
      f.get(0).v128Load().set(x);
      f.get(0);
      vexp(f, t, () => f.get(x));
      f.v128Store();
    });
    const xs = [-200, -87.3, -20.5, -1e-3, 0, 0.5, 1, 10.25, 60, 88];
    const buf = new Float32Array(memory.buffer, 0, 12);
    for (let i = 0; i < xs.length; i += 4) {
      const chunk = xs.slice(i, i + 4);
      buf.set([...chunk, 0, 0, 0].slice(0, 4));
      vexpAt(0);
      chunk.forEach((v, k) => {
        const want = Math.fround(Math.exp(Math.fround(v)));
        expect(Math.abs(buf[k] - want) <= 3e-7 * want + 1e-45, `exp(${v}) = ${buf[k]}, want ${want}`).toBe(true);
      });
    }
  });
});

describe('compileKernel (package modules on the kernel threads)', () => {
  /** squares[i] = i * i for i in task's slice, and tids[task] = tid: a module with one task export */
  const kernel = () =>
    compileKernel<{ squares(task: number, tid: number, out: number, tids: number, per: number, n: number, spin: number): void }>((m) => {
      const f = m.func('squares', [i32, i32, i32, i32, i32, i32, i32]);
      const [task, tid, out, tids, per, n, spin] = [0, 1, 2, 3, 4, 5, 6];
      const [i, end, k] = [f.local(i32), f.local(i32), f.local(i32)];
      f.get(tids).get(task).i32Const(4).i32Mul().i32Add().get(tid).i32Store();
      f.get(task).get(per).i32Mul().set(i);
      f.get(i).get(per).i32Add().set(end);
      f.block((done) =>
        f.loop((top) => {
          f.get(i).get(end).i32GeU().get(i).get(n).i32GeU().i32Or().brIf(done);
          f.get(out).get(i).i32Const(4).i32Mul().i32Add().get(i).get(i).i32Mul().f32ConvertI32S().f32Store();
          // busy work, so that a worker has time to claim tasks alongside the caller
          f.i32Const(0).set(k);
          f.block((d2) => f.loop((t2) => f.get(k).get(spin).i32GeU().brIf(d2).get(k).i32Const(1).i32Add().set(k).br(t2)));
          f.get(i).i32Const(1).i32Add().set(i).br(top);
        }),
      );
    });

  it("runs the README's example: a scale kernel split over the threads", async () => {
    await initWasmThreads(2);
    const k = compileKernel((m) => {
      const f = m.func('scale', [i32, i32, i32, i32, i32]);
      const [task, , at, per, n] = [0, 1, 2, 3, 4];
      const [i, end] = [f.local(i32), f.local(i32)];
      f.get(task).get(per).i32Mul().set(i);
      f.get(i).get(per).i32Add().set(end);
      f.block((done) =>
        f.loop((top) => {
          f.get(i).get(end).i32GeU().get(i).get(n).i32GeU().i32Or().brIf(done);
          f.get(at).get(i).i32Const(4).i32Mul().i32Add();
          f.get(at).get(i).i32Const(4).i32Mul().i32Add().f32Load().f32Const(2).f32Mul().f32Store();
          f.get(i).i32Const(1).i32Add().set(i).br(top);
        }),
      );
    });
    const n = 100_000;
    const per = Math.ceil(n / 2);
    kernelScratch.reset();
    const at = kernelScratch.alloc(4 * n);
    kernelScratch.reserve();
    const x = kernelHeapF32().subarray(at / 4, at / 4 + n).fill(1.5);
    k.run('scale', Math.ceil(n / per), [at, per, n]);
    expect(x.every((v) => v === 3)).toBe(true);
    setNumThreads(1);
  });

  it('runs every task once on 1 and 2 threads, with per-task outputs, and names a missing export', async () => {
    const k = kernel();
    await initWasmThreads(2);
    const n = 1000, per = 10, nTasks = n / per;
    let sawWorker = false;
    for (const threads of [1, 2]) {
      for (let attempt = 0; attempt < (threads === 1 ? 1 : 20) && !(threads === 2 && sawWorker); attempt++) {
        kernelScratch.reset();
        const out = kernelScratch.alloc(4 * n);
        const tids = kernelScratch.alloc(4 * nTasks);
        kernelScratch.reserve();
        new Int32Array(kernelHeapF32().buffer, tids, nTasks).fill(-1);
        k.run('squares', nTasks, [out, tids, per, n, 2000], threads);
        const got = kernelHeapF32().subarray(out / 4, out / 4 + n);
        for (let i = 0; i < n; i++) expect(got[i]).toBe(i * i);
        const who = Array.from(new Int32Array(kernelHeapF32().buffer, tids, nTasks));
        expect(who.every((t) => t >= 0 && t < threads)).toBe(true);
        if (who.some((t) => t === 1)) sawWorker = true;
      }
    }
    expect(sawWorker, 'a worker thread ran some of the tasks').toBe(true);
    expect(() => k.run('nope' as 'squares', 1, [])).toThrow(/no export 'nope'.*squares/);
    setNumThreads(1);
  });
});
