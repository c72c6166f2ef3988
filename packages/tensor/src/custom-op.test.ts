import { afterAll, describe, expect, it } from 'vitest';
import {
  DLError,
  DTypeError,
  DeviceError,
  ShapeError,
  addDispatchListener,
  arange,
  cpuBackend,
  cpuResultArray,
  defineOp,
  fmt,
  geluGrad,
  ones,
  siluGrad,
  reluGrad,
  leakyRelu,
  leakyReluGrad,
  where,
  registerBackend,
  shapesEqual,
  sizeOf,
  tensor,
  wgslStorageType,
  type Backend,
  type HostInput,
  type Tensor,
} from './index.js';

// A package-style op, as a model package would define it: attrs typed, two inputs.
interface AxpyAttrs {
  alpha: number;
}
let seenByKernel: HostInput[] = [];
const axpy = defineOp<AxpyAttrs, 2>({
  name: 'test.axpy',
  inputs: 2,
  inferOutput: ([x, y]) => {
    if (!shapesEqual(x.shape, y.shape)) throw new ShapeError('test.axpy', `x ${fmt(x.shape)} and y ${fmt(y.shape)} must have one shape`);
    return { shape: x.shape, dtype: x.dtype };
  },
  cpu: ([x, y], { alpha }, out) => {
    seenByKernel = [x, y];
    const r = new Float32Array(sizeOf(out.shape));
    for (let i = 0; i < r.length; i++) r[i] = alpha * x.data[i] + y.data[i];
    return r;
  },
  backward: (g, { attrs }) => [g.mul(attrs.alpha), g],
});

// another backend holding host arrays, without custom-op support, and one that claims WGSL
const noCustom: Backend = { ...cpuBackend, name: 'test-nocustom', customKernels: undefined };
const wgslOnly: Backend = { ...cpuBackend, name: 'test-wgsl', customKernels: 'wgsl', runWgsl: () => new Float32Array(0) };
registerBackend(noCustom);
registerBackend(wgslOnly);

describe('defineOp', () => {
  afterAll(() => {
    seenByKernel = [];
  });

  it('runs its cpu kernel and returns a typed function named after the op', () => {
    const x = tensor([1, 2, 3]);
    const y = tensor([10, 20, 30]);
    expect(axpy([x, y], { alpha: 2 }).toArray()).toEqual([12, 24, 36]);
    expect(axpy.name).toBe('test.axpy');
    expect(axpy.grad).not.toBeNull();
  });

  it('hands the kernel contiguous inputs from offset 0: transposed and sliced views are copied or cut', () => {
    const x = arange(0, 6).float().reshape([2, 3]).transpose(0, 1); // [3,2], strides [1,3]
    const y = arange(0, 12).float().reshape([2, 6]).slice(1, 2, 4); // [2,2] inside a row: not contiguous
    const r = axpy([x.slice(0, 0, 2), y], { alpha: 1 });
    expect(r.toArray()).toEqual([[0 + 2, 3 + 3], [1 + 8, 4 + 9]]);
    for (const h of seenByKernel) {
      expect(h.offset).toBe(0);
      expect(h.strides).toEqual([2, 1]);
      expect(h.data.length).toBe(4);
    }
    // a contiguous view from an offset arrives as the subarray of its elements
    const z = arange(0, 8).float().slice(0, 4, 8);
    expect(axpy([z, z], { alpha: 1 }).toArray()).toEqual([8, 10, 12, 14]);
    expect(Array.from(seenByKernel[0].data)).toEqual([4, 5, 6, 7]);
  });

  it('passes strided views as they are to a kernel that declares strided', () => {
    let seen: HostInput | null = null;
    const colSum = defineOp<Record<string, never>, 1>({
      name: 'test.stridedRowSum',
      inputs: 1,
      strided: { cpu: true },
      differentiable: false,
      inferOutput: ([x]) => ({ shape: [x.shape[0]], dtype: x.dtype }),
      cpu: ([x], _a, out) => {
        seen = x;
        const r = new Float32Array(out.shape[0]);
        for (let i = 0; i < x.shape[0]; i++) for (let j = 0; j < x.shape[1]; j++) r[i] += x.data[x.offset + i * x.strides[0] + j * x.strides[1]];
        return r;
      },
    });
    const x = arange(0, 6).float().reshape([2, 3]).transpose(0, 1);
    expect(colSum([x]).toArray()).toEqual([3, 5, 7]);
    expect(seen!.strides).toEqual([1, 3]);
    expect(colSum.grad).toBeNull();
  });

  it('refuses a duplicate name, a built-in primitive name, an op without kernels or without backward', () => {
    const base = { inferOutput: ([x]: readonly Tensor[]) => ({ shape: x.shape, dtype: x.dtype }), cpu: () => new Float32Array(0), differentiable: false } as const;
    expect(() => defineOp({ ...base, name: 'test.axpy' })).toThrow(/test\.axpy' is already defined/);
    expect(() => defineOp({ ...base, name: 'add' })).toThrow(/'add' is a built-in primitive/);
    expect(() => defineOp({ ...base, name: 'reshape' })).toThrow(/built-in primitive/);
    expect(() => defineOp({ name: 'test.noKernel', inferOutput: base.inferOutput, differentiable: false })).toThrow(/defines no kernel/);
    expect(() => defineOp({ name: 'test.noBackward', inferOutput: base.inferOutput, cpu: base.cpu } as never)).toThrow(/no backward/);
    expect(() => defineOp({ ...base, name: '' })).toThrow(DLError);
  });

  it('names the op in errors: arity, shapes from inferOutput, devices, dtypes', () => {
    const x = ones([2, 3]);
    expect(() => (axpy as unknown as (i: Tensor[], a: AxpyAttrs) => Tensor)([x], { alpha: 1 })).toThrow('test.axpy: expected 2 tensor inputs, got 1');
    expect(() => axpy([x, ones([3, 2])], { alpha: 1 })).toThrow(new ShapeError('test.axpy', 'x [2,3] and y [3,2] must have one shape'));
    expect(() => axpy([x, ones([2, 3]).to('test-nocustom')], { alpha: 1 })).toThrow(DeviceError);
    expect(() => axpy([x, ones([2, 3]).to('test-nocustom')], { alpha: 1 })).toThrow(/test\.axpy: expected all tensors on one device/);
    const badDtype = defineOp<Record<string, never>, 1>({
      name: 'test.badDtype',
      differentiable: false,
      inferOutput: () => ({ shape: [1], dtype: 'complex64' as never }),
      cpu: () => new Float32Array(1),
    });
    expect(() => badDtype([x])).toThrow(new DTypeError('test.badDtype', 'inferOutput returned an unknown dtype complex64'));
  });

  it('throws a DeviceError naming the op and the device where the backend has no kernel for it', () => {
    const x = ones([2]).to('test-nocustom');
    expect(() => axpy([x, x], { alpha: 1 })).toThrow(DeviceError);
    expect(() => axpy([x, x], { alpha: 1 })).toThrow(/^test\.axpy: device 'test-nocustom' runs no custom ops/);
    const w = ones([2]).to('test-wgsl');
    expect(() => axpy([w, w], { alpha: 1 })).toThrow("test.axpy: has no wgsl kernel, which device 'test-wgsl' needs (the op has: cpu)");
  });

  it('checks what the cpu kernel returns', () => {
    const make = (name: string, cpu: (x: HostInput) => unknown) =>
      defineOp<Record<string, never>, 1>({ name, differentiable: false, inferOutput: ([x]) => ({ shape: x.shape, dtype: x.dtype }), cpu: ([x]) => cpu(x) as Float32Array });
    const x = ones([2, 2]);
    expect(() => make('test.short', () => new Float32Array(3))([x])).toThrow(new ShapeError('test.short', 'the cpu kernel returned 3 values for an output of shape [2,2] (4 values)'));
    expect(() => make('test.f64', () => new Float64Array(4))([x])).toThrow(/test\.f64: the cpu kernel returned a Float64Array; a float32 output \[2,2\] needs a Float32Array/);
    expect(() => make('test.alias', (h) => h.data)([x])).toThrow('test.alias: the cpu kernel returned memory of input 0');
  });

  it('tells dispatch listeners about custom ops, with their rule', () => {
    const seen: [string, string | null, boolean][] = [];
    const x = ones([2]);
    const remove = addDispatchListener((op, _i, _a, _o, custom) => void seen.push([op, custom?.name ?? null, typeof custom?.grad?.backward === 'function']));
    axpy([x, x], { alpha: 3 });
    x.add(x);
    remove();
    expect(seen).toEqual([
      ['test.axpy', 'test.axpy', true],
      ['add', null, false],
    ]);
  });

  it('geluGrad is a custom op: g * gelu\'(x), both forms, on strided gradients', () => {
    const x = tensor([-1, 0, 1]);
    const g = tensor([[1, 2], [1, 0], [1, 0]]).transpose(0, 1).select(0, 0); // [1,1,1] with stride 2
    const exact = geluGrad([g, x], { approximate: 'none' }).toArray() as number[];
    const cdf = (v: number): number => 0.5 * (1 + erfRef(v / Math.SQRT2));
    const pdf = (v: number): number => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
    [-1, 0, 1].forEach((v, i) => expect(exact[i]).toBeCloseTo(cdf(v) + v * pdf(v), 6));
    const t = geluGrad([g, x], { approximate: 'tanh' }).toArray() as number[];
    const c = Math.sqrt(2 / Math.PI);
    const dTanh = (v: number): number => {
      const th = Math.tanh(c * (v + 0.044715 * v ** 3));
      return 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * c * (1 + 3 * 0.044715 * v * v);
    };
    [-1, 0, 1].forEach((v, i) => expect(t[i]).toBeCloseTo(dTanh(v), 6));
    expect(() => geluGrad([ones([2]), ones([3])], { approximate: 'none' })).toThrow(new ShapeError('geluGrad', 'g [2] and x [3] must have one shape'));
  });

  it('siluGrad is a custom op: g * silu\'(x) on strided gradients, float32 and float64, special values', () => {
    const x = tensor([-1, 0, 1, 30, -30, -100, 100]);
    const g = tensor([[1, 2], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0]]).transpose(0, 1).select(0, 0); // ones with stride 2
    const dSilu = (v: number): number => {
      const s = 1 / (1 + Math.exp(-v));
      return s * (1 + v * (1 - s));
    };
    const f32 = siluGrad([g, x]).toArray() as number[];
    const f64 = siluGrad([g.cast('float64'), x.cast('float64')]).toArray() as number[];
    [-1, 0, 1, 30, -30, -100, 100].forEach((v, i) => {
      expect(f32[i]).toBeCloseTo(dSilu(v), 6);
      expect(Math.abs(f64[i] - dSilu(v))).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(dSilu(v))));
    });
    // PyTorch's silu backward is NaN at ±inf (inf * 0 in s (1 + x (1 - s))) and NaN
    expect((siluGrad([ones([3]), tensor([Infinity, -Infinity, NaN])]).toArray() as number[]).every(Number.isNaN)).toBe(true);
    expect(() => siluGrad([ones([2]), ones([3])])).toThrow(new ShapeError('siluGrad', 'g [2] and x [3] must have one shape'));
  });

  it("reluGrad is a custom op: g where y > 0, else 0, as PyTorch's threshold_backward (a NaN or infinite g at y <= 0 gives 0)", () => {
    const y = tensor([0, -0, 1e-30, 2, 0, 0, 3, NaN, Infinity]);
    const g = tensor([5, 5, 5, 5, NaN, Infinity, NaN, 1, -2]);
    const want = [0, 0, 5, 5, 0, 0, NaN, 0, -2];
    for (const dt of ['float32', 'float64'] as const) expect(reluGrad([g.cast(dt), y.cast(dt)]).toArray(), dt).toEqual(want);
    // strided g: ones with stride 2
    const gs = tensor([[1, 2], [1, 0], [1, 0]]).transpose(0, 1).select(0, 0);
    expect(reluGrad([gs, tensor([1, -1, 0.5])]).toArray()).toEqual([1, 0, 1]);
    expect(() => reluGrad([ones([2]), ones([3])])).toThrow(new ShapeError('reluGrad', 'g [2] and x [3] must have one shape'));
  });

  it('leakyRelu and leakyReluGrad give the composed where(x > 0, ...) values bit for bit, strided, float32 and float64, special values', () => {
    const x = tensor([-3, -0.7, -0, 0, 1e-30, 2.5, NaN, Infinity, -Infinity, -1e-38]);
    const g = tensor([[1.7, 9], [-2.3, 9], [0.3, 9], [5, 9], [NaN, 9], [Infinity, 9], [-1, 9], [2, 9], [3, 9], [4, 9]]).select(1, 0); // stride 2
    for (const dt of ['float32', 'float64'] as const) {
      for (const s of [0.2, 0.01, -1.5, 3]) {
        const [xd, gd] = [x.cast(dt), g.cast(dt)];
        expect(leakyRelu(xd, s).toArray(), `${dt} ${s}`).toEqual(where(xd.gt(0), xd, xd.mul(s)).toArray());
        expect(leakyReluGrad([gd, xd], { negativeSlope: s }).toArray(), `grad ${dt} ${s}`).toEqual(where(xd.gt(0), gd, gd.mul(s)).toArray());
        // contiguous operands take the float32 loop
        expect(leakyReluGrad([gd.contiguous(), xd], { negativeSlope: s }).toArray(), `grad contiguous ${dt} ${s}`).toEqual(where(xd.gt(0), gd, gd.mul(s)).toArray());
      }
    }
    expect(leakyRelu(tensor([-2, 0, 3]), 0.5).toArray()).toEqual([-1, 0, 3]);
    expect(() => leakyRelu(tensor([1], { dtype: 'int32' }))).toThrow(new DTypeError('leakyRelu', 'x must be a float tensor, got int32 [1]'));
    expect(() => leakyRelu(x, NaN)).toThrow('leakyRelu: negativeSlope must be a finite number, got NaN');
  });

  it('wgslStorageType maps dtypes to WGSL storage types', () => {
    expect(['float32', 'float16', 'int32', 'bool'].map((d) => wgslStorageType(d as 'float32'))).toEqual(['f32', 'f16', 'i32', 'u32']);
    expect(() => wgslStorageType('float64')).toThrow(DTypeError);
  });
});

/** erf to ~1e-12 (series / continued fraction), for reference values */
function erfRef(x: number): number {
  let sum = x;
  let term = x;
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('cpuResultArray (pooled result arrays for custom CPU kernels)', () => {
  it("hands a freed custom-op result's array to the next result of its size, zeroed unless asked not to", () => {
    const n = 8192; // 32 KiB: pooled
    let made: Float32Array | undefined;
    const fill7 = defineOp<Record<string, never>, 1>({
      name: 'test.fill7',
      inputs: 1,
      differentiable: false,
      inferOutput: ([x]) => ({ shape: x.shape, dtype: 'float32' }),
      cpu: ([x]) => (made = (cpuResultArray('float32', sizeOf(x.shape), false) as Float32Array).fill(7)),
    });
    fill7([ones([n])], {}).dispose();
    const again = cpuResultArray('float32', n, false);
    expect(again).toBe(made);
    expect(again[0]).toBe(7); // old contents: for kernels that write every element
    fill7([ones([n])], {}).dispose();
    const zeroed = cpuResultArray('float32', n);
    expect(zeroed).toBe(made);
    expect(zeroed.every((v) => v === 0)).toBe(true);
    expect(cpuResultArray('float64', 3)).toBeInstanceOf(Float64Array);
  });
});
