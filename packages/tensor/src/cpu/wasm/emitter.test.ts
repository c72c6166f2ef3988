import { describe, expect, it } from 'vitest';
import { f32, f64, i32, ModuleBuilder, v128 } from './emitter.js';

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

  it('loads and stores float64 at an address plus an offset', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const m = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 1, shared: false });
    // mem[3] = mem[1] * 2 (float64 slots), through a base of 8 bytes and offsets 0 and 16
    const f = m.func('twice', [i32]);
    f.get(0).get(0).f64Load().f64Const(2).f64Mul().f64Store(16);
    const d = new Float64Array(memory.buffer);
    d[1] = 0.1;
    instantiate(m, memory).twice(8);
    expect(d[3]).toBe(0.2);
    expect(d[2]).toBe(0);
  });

  it('compares float64 for equality (NaN unequal to itself)', () => {
    const m = new ModuleBuilder();
    m.func('eq', [f64, f64], [i32]).get(0).get(1).f64Eq();
    const { eq } = instantiate(m);
    expect([eq(1.5, 1.5), eq(1.5, 2), eq(-Infinity, -Infinity), eq(NaN, NaN), eq(0, -0)]).toEqual([1, 0, 1, 0, 1]);
  });

  it('emits the f32x4 / i32x4 arithmetic, rounding, conversion, comparison and bitwise ops the elementwise kernels use', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const mem = () => new ModuleBuilder().importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 1, shared: false });
    const f = new Float32Array(memory.buffer);
    const n = new Int32Array(memory.buffer);
    // each case: a binary (or unary) op on the vectors at bytes 0 and 16, result stored at 32
    // ints: inputs (and, unless `out` says otherwise, outputs) are int32 lanes
    const run = (emit: (fb: ReturnType<ModuleBuilder['func']>) => void, a: number[], b: number[], ints = false, out = ints): number[] => {
      const m = mem();
      const fb = m.func('t', []);
      fb.i32Const(32);
      emit(fb);
      fb.v128Store();
      const ex = instantiate(m, memory);
      (ints ? n : f).set([...a, ...b]);
      ex.t();
      return Array.from((out ? n : f).subarray(8, 12));
    };
    const A = [1.5, -2.5, 2.5, -0.5];
    const B = [0.5, 4, -1, NaN];
    const ld = (fb: ReturnType<ModuleBuilder['func']>, unary = false) => (unary ? fb.i32Const(0).v128Load() : fb.i32Const(0).v128Load().i32Const(16).v128Load());
    expect(run((fb) => ld(fb).f32x4Sub(), A, B)).toEqual([1, -6.5, 3.5, NaN]);
    expect(run((fb) => ld(fb).f32x4Div(), A, B)).toEqual([3, -0.625, -2.5, NaN]);
    expect(run((fb) => ld(fb).f32x4Min(), A, B)).toEqual([0.5, -2.5, -1, NaN]);
    expect(run((fb) => ld(fb).f32x4Max(), A, B)).toEqual([1.5, 4, 2.5, NaN]);
    expect(run((fb) => ld(fb).f32x4Pmin(), [1, 5, NaN, 2], [3, 4, 0, NaN])).toEqual([1, 4, NaN, 2]);
    expect(run((fb) => ld(fb).f32x4Pmax(), [1, 5, NaN, 2], [3, 4, 0, NaN])).toEqual([3, 5, NaN, 2]);
    expect(run((fb) => ld(fb, true).f32x4Nearest(), A, B)).toEqual([2, -2, 2, -0]);
    expect(run((fb) => ld(fb, true).f32x4Abs(), A, B)).toEqual([1.5, 2.5, 2.5, 0.5]);
    expect(run((fb) => ld(fb, true).f32x4Neg(), A, B)).toEqual([-1.5, 2.5, -2.5, 0.5]);
    expect(run((fb) => ld(fb, true).i32x4TruncSatF32x4S(), [1.9, -1.9, NaN, 1e10], [], false, true)).toEqual([1, -1, 0, 2147483647]);
    expect(run((fb) => ld(fb, true).f32x4ConvertI32x4S(), [3, -7, 0, 1 << 24], [], true, false)).toEqual([3, -7, 0, 16777216]);
    const mask = (v: number[]) => v.map((x) => (x === -1 ? 1 : x === 0 ? 0 : NaN));
    expect(mask(run((fb) => ld(fb).f32x4Lt(), A, B, false, true))).toEqual([0, 1, 0, 0]);
    expect(mask(run((fb) => ld(fb).f32x4Gt(), A, B, false, true))).toEqual([1, 0, 1, 0]);
    expect(mask(run((fb) => ld(fb).f32x4Le(), [1, 2, 3, NaN], [1, 1, 4, 0], false, true))).toEqual([1, 0, 1, 0]);
    expect(mask(run((fb) => ld(fb).f32x4Ge(), [1, 2, 3, NaN], [1, 1, 4, 0], false, true))).toEqual([1, 1, 0, 0]);
    expect(mask(run((fb) => ld(fb).f32x4Eq(), [1, 2, NaN, -0], [1, 1, NaN, 0], false, true))).toEqual([1, 0, 0, 1]);
    const I = [5, -6, 7, 0x7f800000];
    const J = [1, 2, -3, 0x0f0f0f0f];
    expect(run((fb) => ld(fb).i32x4Add(), I, J, true)).toEqual([6, -4, 4, (0x7f800000 + 0x0f0f0f0f) | 0]);
    expect(run((fb) => ld(fb).i32x4Sub(), I, J, true)).toEqual([4, -8, 10, 0x7f800000 - 0x0f0f0f0f]);
    expect(run((fb) => ld(fb, true).i32Const(3).i32x4Shl(), I, J, true)).toEqual([40, -48, 56, 0x7f800000 << 3]);
    expect(run((fb) => ld(fb, true).i32Const(1).i32x4ShrS(), I, J, true)).toEqual([2, -3, 3, 0x3fc00000]);
    expect(run((fb) => ld(fb).i32x4Eq(), I, [5, 6, 7, 8], true)).toEqual([-1, 0, -1, 0]);
    expect(run((fb) => ld(fb).i32x4GtS(), I, J, true)).toEqual([-1, 0, -1, -1]);
    expect(run((fb) => ld(fb).v128And(), I, J, true)).toEqual(I.map((v, i) => v & J[i]));
    expect(run((fb) => ld(fb).v128AndNot(), I, J, true)).toEqual(I.map((v, i) => v & ~J[i]));
    expect(run((fb) => ld(fb).v128Or(), I, J, true)).toEqual(I.map((v, i) => v | J[i]));
    expect(run((fb) => ld(fb).v128Xor(), I, J, true)).toEqual(I.map((v, i) => v ^ J[i]));
    expect(run((fb) => ld(fb).i32x4Const(0x00ff00ff).v128Bitselect(), I, J, true)).toEqual(I.map((v, i) => (v & 0x00ff00ff) | (J[i] & ~0x00ff00ff)));
    expect(run((fb) => fb.f32x4Const(-0.1), [], [])).toEqual([Math.fround(-0.1), Math.fround(-0.1), Math.fround(-0.1), Math.fround(-0.1)]);
    expect(run((fb) => fb.i32Const(-9).i32x4Splat(), [], [], true)).toEqual([-9, -9, -9, -9]);
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
