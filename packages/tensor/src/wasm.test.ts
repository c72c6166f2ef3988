import { describe, expect, it } from 'vitest';
import { ModuleBuilder, i32, simdSupported, v128, vecLocals, vexp } from './wasm.js';

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
