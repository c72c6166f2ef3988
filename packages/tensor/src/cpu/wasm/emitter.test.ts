import { describe, expect, it } from 'vitest';
import { f32, i32, ModuleBuilder, v128 } from './emitter.js';

function instantiate(m: ModuleBuilder, memory?: WebAssembly.Memory): Record<string, CallableFunction> {
  const mod = new WebAssembly.Module(m.bytes() as BufferSource);
  return new WebAssembly.Instance(mod, memory ? { env: { memory } } : {}).exports as Record<string, CallableFunction>;
}

describe('emitter', () => {
  it('encodes signed constants across LEB128 byte boundaries', () => {
    const values = [0, 1, -1, 63, 64, -64, -65, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)];
    const m = new ModuleBuilder();
    values.forEach((v, i) => m.func(`c${i}`, [], [i32]).i32Const(v));
    const ex = instantiate(m);
    values.forEach((v, i) => expect(ex[`c${i}`]()).toBe(v));
  });

  it('computes branch depths from labels (a counted loop)', () => {
    const m = new ModuleBuilder();
    const f = m.func('sum', [i32], [i32]); // 0 + 1 + ... + (n - 1)
    const acc = f.local(i32);
    const k = f.local(i32);
    f.block((done) => {
      f.loop((top) => {
        f.get(k).get(0).i32GeS().brIf(done);
        f.get(acc).get(k).i32Add().set(acc);
        f.get(k).i32Const(1).i32Add().set(k);
        f.br(top);
      });
    });
    f.get(acc);
    expect(instantiate(m).sum(100)).toBe(4950);
  });

  it('emits SIMD loads, splats, multiply-adds and stores on an imported memory', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const m = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 1, shared: false });
    // out[0..4] = x[0..4] * s + y[0..4]; returns lane 2 of the result
    const f = m.func('axpy', [f32], [f32]);
    const r = f.local(v128);
    f.i32Const(0).v128Load().get(0).f32x4Splat().f32x4Mul().i32Const(16).v128Load().f32x4Add().set(r);
    f.i32Const(32).get(r).v128Store();
    f.get(r).f32x4ExtractLane(2);
    const ex = instantiate(m, memory);
    new Float32Array(memory.buffer).set([1, 2, 3, 4, 10, 20, 30, 40]);
    expect(ex.axpy(0.5)).toBe(31.5);
    expect(Array.from(new Float32Array(memory.buffer, 32, 4))).toEqual([10.5, 21, 31.5, 42]);
  });

  it('marks shared memory imports', () => {
    const bytes = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 2, shared: true }).bytes();
    const mod = new WebAssembly.Module(bytes as BufferSource);
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(() => new WebAssembly.Instance(mod, { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }) } })).toThrow();
    expect(() => new WebAssembly.Instance(mod, { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }) } })).not.toThrow();
  });
});

describe('kernel module', () => {
  it('stays small enough to compile synchronously on a browser main thread (8 MB in Chrome 114+)', async () => {
    const { kernelModuleBytes } = await import('./gemm-kernel.js');
    for (const fma of [false, true]) {
      expect(kernelModuleBytes({ shared: true, fma, initialPages: 1, maximumPages: 32768 }).length).toBeLessThan(64 * 1024);
    }
  });

  it('validates without shared memory (the single-thread fallback)', async () => {
    const { kernelModuleBytes } = await import('./gemm-kernel.js');
    expect(WebAssembly.validate(kernelModuleBytes({ shared: false, fma: false, initialPages: 1, maximumPages: 32768 }) as BufferSource)).toBe(true);
  });
});
