import { describe, expect, it } from 'vitest';
import { type CpuKernels, getNumThreads, initThreads, cat, matmul, exp, gather, gelu, geluGrad, kernelChoice, reluGrad, logSoftmax, maxPool2d, randint, randn, relu, scatterAdd, setCpuKernels, sigmoid, silu, siluGrad, softmax, softplus, sum, tanh, tensor, where, zeros } from '../index.js';
import { wasmAvailable } from './wasm/index.js';
import { maxPool2dIndicesKernel } from './linalg.js';

// Each fast path (contiguous or float32-bit layouts) must equal the general strided walk, which
// the same op takes on a transposed view or on float64.
const plain = (t: { dataSync(): ArrayLike<number> }): number[] => Array.from(t.dataSync());
const specials = [NaN, -NaN, -0, 0, Infinity, -Infinity, 1, -1, 3.5, -2.25];

describe('cpu fast paths', () => {
  it.runIf(wasmAvailable())('float32 activations take the SIMD kernels when contiguous, and agree with the JS loops (strided inputs, js kernels)', () => {
    const x = randn([4, 5, 33]).mul(6);
    const g = randn([4, 5, 33]);
    const xt = x.permute([2, 1, 0]).contiguous().permute([2, 1, 0]); // same values, strided: the JS loop
    const gt = g.permute([2, 1, 0]).contiguous().permute([2, 1, 0]);
    expect(xt.isContiguous()).toBe(false);
    const before = kernelChoice();
    setCpuKernels('wasm'); // the SIMD kernels, also where DL_CPU_KERNELS=js chose the JS ones
    const wasm = kernelChoice();
    const calls: string[] = [];
    const spy: CpuKernels = { ...wasm, elementwise: (op, ins, out) => (calls.push(op), wasm.elementwise!(op, ins, out)) };
    const cases: [string, (a: typeof x, b: typeof g) => typeof x][] = [
      ['exp', (a) => exp(a)],
      ['sigmoid', (a) => sigmoid(a)],
      ['silu', (a) => silu(a)],
      ['tanh', (a) => tanh(a)],
      ['gelu', (a) => gelu(a)],
      ['siluGrad', (a, b) => siluGrad([b, a])],
      ['geluGrad', (a, b) => geluGrad([b, a], { approximate: 'none' })],
      ['geluTanh', (a) => gelu(a, 'tanh')],
      ['geluTanhGrad', (a, b) => geluGrad([b, a], { approximate: 'tanh' })],
      ['reluGrad', (a, b) => reluGrad([b, a])],
      ['relu', (a) => relu(a)],
      ['softplus', (a) => softplus(a)],
    ];
    try {
      setCpuKernels(spy);
      for (const [op, f] of cases) {
        calls.length = 0;
        const simd = f(x, g).dataSync();
        expect(calls, op).toEqual([op]);
        calls.length = 0;
        const strided = f(xt, gt).dataSync();
        expect(calls, `${op} strided`).toEqual([]);
        setCpuKernels('js');
        const js = f(x, g).dataSync();
        setCpuKernels(spy);
        for (let i = 0; i < simd.length; i++) {
          expect(strided[i], `${op} strided`).toBe(js[i]);
          expect(Math.abs(simd[i] - js[i]), `${op}(${x.dataSync()[i]})`).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(js[i])));
        }
      }
      // float64 and broadcast operands stay on the JS loops
      calls.length = 0;
      silu(x.cast('float64'));
      siluGrad([g.sum(0, true).expand([4, 5, 33]), x]);
      expect(calls).toEqual([]);
    } finally {
      setCpuKernels(before);
    }
  });

  it.runIf(wasmAvailable())('float32 add/sub/mul/div take the SIMD kernel for same-shape, per-row, shared-row, scalar and strided operands, bit for bit the JS loops', () => {
    const before = kernelChoice();
    setCpuKernels('wasm'); // the SIMD kernels, also where DL_CPU_KERNELS=js chose the JS ones
    const wasm = kernelChoice();
    const calls: string[] = [];
    const spy: CpuKernels = { ...wasm, binary: (op, a, b, out, rows, inner) => (calls.push(`${op} ${a.mode}${b.mode} ${rows}x${inner}`), wasm.binary!(op, a, b, out, rows, inner)) };
    const x = randn([3, 5, 7, 9]);
    const [y, c, nc, bias, wide, col, row] = [[3, 5, 7, 9], [1, 5, 1, 1], [3, 5, 1, 1], [9], [3, 6, 7, 9], [70, 1], [1, 65]].map((s) => randn(s));
    const tr = randn([9, 7, 5, 3]).permute([3, 2, 1, 0]);
    const cases: [string, () => ReturnType<typeof randn>, string | null][] = [
      ['same shape', () => x.add(y), 'add 00 1x945'],
      ['per-channel [1,C,1,1]', () => x.mul(c), 'mul 01 15x63'],
      ['per-sample-channel [N,C,1,1]', () => nc.sub(x), 'sub 10 15x63'],
      ['last-dim bias', () => x.div(bias), 'div 02 105x9'],
      ['scalar', () => x.mul(0.3), 'mul 01 1x945'],
      ['channel slice (strided rows)', () => x.add(wide.slice(1, 1, 6)), 'add 00 3x315'],
      ['outer product [N,1]+[1,M]', () => col.add(row), 'add 12 70x65'],
      ['transposed (no stride-1 last dim)', () => x.add(tr), null],
      ['float64 stays on the JS loop', () => x.cast('float64').add(1), null],
    ];
    try {
      for (const [what, f, call] of cases) {
        setCpuKernels(spy);
        calls.length = 0;
        const simd = f().dataSync();
        expect(calls, what).toEqual(call ? [call] : []);
        setCpuKernels('js');
        const js = f().dataSync();
        expect(Array.from(simd), what).toEqual(Array.from(js));
      }
    } finally {
      setCpuKernels(before);
    }
  });

  it('cat copies contiguous inputs block by block and strided ones element-wise, every dim and dtype', () => {
    for (const dtype of ['float32', 'float64', 'int32', 'bool'] as const) {
      const a = randint(0, 5, [2, 3, 4, 5]).cast(dtype);
      const b0 = randint(0, 5, [5, 4, 3, 2]).cast(dtype);
      const b = b0.permute([3, 2, 1, 0]); // [2, 3, 4, 5], strided: b[i, j, k, l] = b0[l, k, j, i]
      const c = randint(0, 5, [2, 3, 4, 5]).cast(dtype);
      const [av, bv, cv] = [a, b0, c].map((t) => t.dataSync()); // contiguous storage, read directly
      const value = (part: number, [i, j, k, l]: number[]): number =>
        part === 1 ? bv[((l * 4 + k) * 3 + j) * 2 + i] : (part === 0 ? av : cv)[((i * 3 + j) * 4 + k) * 5 + l];
      for (let dim = 0; dim < 4; dim++) {
        const got = cat([a, b, c], dim);
        const flat = got.dataSync();
        const ext = [2, 3, 4, 5][dim];
        for (let e = 0; e < flat.length; e++) {
          const idx = [0, 0, 0, 0];
          for (let d = 3, q = e; d >= 0; d--) (idx[d] = q % got.shape[d]), (q = Math.floor(q / got.shape[d]));
          const part = Math.floor(idx[dim] / ext);
          idx[dim] -= part * ext;
          if (flat[e] !== value(part, idx)) throw new Error(`${dtype} dim ${dim}: element ${e} is ${flat[e]}, want ${value(part, idx)}`);
        }
      }
      // a strided copy (contiguous(), row by row) in row-major order of the view
      const bc = b.contiguous().dataSync();
      for (let e = 0; e < bc.length; e++) {
        const idx = [Math.floor(e / 60), Math.floor(e / 20) % 3, Math.floor(e / 5) % 4, e % 5];
        expect(bc[e], `${dtype} contiguous ${e}`).toBe(value(1, idx));
      }
    }
  });

  it('relu on float32 bits keeps NaN, maps -0 and -Infinity to +0', () => {
    const got = plain(relu(tensor(specials, { dtype: 'float32' })));
    expect(got.map((v) => Object.is(v, -0))).toEqual(specials.map(() => false));
    expect(got).toEqual(plain(relu(tensor(specials, { dtype: 'float64' }))));
  });

  it('where on int32 bits selects exactly, broadcast operands included', () => {
    const c = tensor([1, 0, 1, 0, 0, 1, 1, 0, 1, 0], { dtype: 'bool' });
    const a = tensor(specials, { dtype: 'float32' });
    expect(plain(where(c, a, zeros([1])))).toEqual(plain(where(c, a.cast('float64'), zeros([1], { dtype: 'float64' }))));
    const ai = tensor([5, -6, 7, -8, 9, 10, -11, 12, 13, 14], { dtype: 'int32' });
    expect(plain(where(c, ai, tensor([-1], { dtype: 'int32' })))).toEqual([5, -1, 7, -1, -1, 10, -11, -1, 13, -1]);
  });

  it('sum and prod over any dims, contiguous or strided, add in row-major order of the reduced dims', () => {
    const x = randn([3, 4, 5, 6]);
    const xt = x.permute([3, 2, 1, 0]).contiguous().permute([3, 2, 1, 0]); // same values, strided
    expect(xt.isContiguous()).toBe(false);
    const v = x.dataSync();
    // reference: float64 accumulation, visiting x in row-major order
    const reference = (dims: number[], prod: boolean): number[] => {
      const kept = x.shape.map((s, d) => (dims.includes(d) ? 1 : s));
      const acc = new Float64Array(kept.reduce((p, s) => p * s, 1)).fill(prod ? 1 : 0);
      for (let i = 0; i < v.length; i++) {
        let rem = i;
        let o = 0;
        for (let d = 3, omul = 1; d >= 0; d--) {
          const c = rem % x.shape[d];
          rem = (rem - c) / x.shape[d];
          if (!dims.includes(d)) o += c * omul;
          omul *= kept[d];
        }
        acc[o] = prod ? acc[o] * v[i] : acc[o] + v[i];
      }
      return Array.from(Float32Array.from(acc));
    };
    for (const dims of [[0], [1], [3], [0, 2], [1, 3], [0, 2, 3], [0, 1, 2, 3], [1, 2]]) {
      expect(plain(sum(x, dims, true)), `dims ${dims}`).toEqual(reference(dims, false));
      expect(plain(sum(xt, dims, true)), `strided, dims ${dims}`).toEqual(reference(dims, false));
    }
    expect(plain(x.prod([0, 2]))).toEqual(reference([0, 2], true));
    expect(plain(xt.prod([0, 2]))).toEqual(reference([0, 2], true));
    const row = randn([4]);
    expect(plain(sum(row.expand([3, 4]), [0]))).toEqual(Array.from(Float32Array.from(row.dataSync(), (r) => 0 + r + r + r)));
  });

  it('softmax and logSoftmax of contiguous rows equal the strided walk on the JS kernels, -Infinity rows included', () => {
    const x = randn([3, 5, 7]).maskedFill(randn([3, 5, 7]).gt(1), -Infinity);
    const xt = x.permute([2, 1, 0]).contiguous().permute([2, 1, 0]);
    const before = kernelChoice();
    setCpuKernels('js');
    try {
      for (const f of [softmax, logSoftmax]) expect(plain(f(x, -1)).map(String)).toEqual(plain(f(xt, -1)).map(String));
    } finally {
      setCpuKernels(before);
    }
    // a fully masked row gives zeros (softmax) and -Infinity (logSoftmax) on both walks, not NaN
    const allMasked = tensor([[-Infinity, -Infinity], [0, 1]]);
    const allMaskedT = allMasked.transpose(0, 1).contiguous().transpose(0, 1);
    for (const m of [allMasked, allMaskedT]) {
      expect(plain(softmax(m, 1)).slice(0, 2)).toEqual([0, 0]);
      expect(plain(logSoftmax(m, 1)).slice(0, 2)).toEqual([-Infinity, -Infinity]);
    }
    expect(plain(softmax(allMasked, 1)).map(String)).toEqual(plain(softmax(allMaskedT, 1)).map(String));
  });

  it.runIf(wasmAvailable())('float32 sums over leading dims take the SIMD column kernel with the JS loop\'s bits (tail columns, blocks of rows, non-finite values)', async () => {
    const before = kernelChoice();
    const threads = getNumThreads();
    setCpuKernels('wasm');
    const wasm = kernelChoice();
    let calls = 0;
    const spy: CpuKernels = { ...wasm, sumColumns: (...args) => (calls++, wasm.sumColumns!(...args)) };
    try {
      for (const [shape, dims] of [
        [[16, 32, 131], [0, 1]], // 32 blocks of 4 columns and a tail of 3
        [[2048, 128], [0]],
        [[9000, 133], [0]], // more rows than a block of kernel memory
        [[50, 3, 12], [0, 1]], // one pair of blocks and one single block
      ] as [number[], number[]][]) {
        const x = randn(shape).mul(1e3);
        const data = x.dataSync() as Float32Array;
        data[7] = Number.NaN;
        data[shape.at(-1)! + 2] = Number.POSITIVE_INFINITY;
        data[data.length - 1] = Number.NEGATIVE_INFINITY;
        setCpuKernels('js');
        const want = plain(sum(x, dims)).map(String);
        for (const t of [1, 2]) {
          await initThreads(t);
          setCpuKernels(spy);
          calls = 0;
          expect(plain(sum(x, dims)).map(String), `${shape} on ${t} thread(s)`).toEqual(want);
          expect(calls).toBe(1);
        }
      }
    } finally {
      setCpuKernels(before);
      await initThreads(threads);
    }
  });

  it.runIf(wasmAvailable())('float32 softmax and logSoftmax of contiguous rows take the SIMD kernel and agree with the strided walk', () => {
    const x = randn([6, 5, 37]).mul(4).maskedFill(randn([6, 5, 37]).gt(1.5), -Infinity);
    const xt = x.permute([2, 1, 0]).contiguous().permute([2, 1, 0]);
    const before = kernelChoice();
    setCpuKernels('wasm');
    const wasm = kernelChoice();
    let calls = 0;
    setCpuKernels({ ...wasm, softmaxRows: (...args) => (calls++, wasm.softmaxRows!(...args)) });
    try {
      for (const f of [softmax, logSoftmax]) {
        const want = plain(f(xt, -1));
        plain(f(x, -1)).forEach((v, i) => {
          if (!Number.isFinite(want[i])) expect(String(v)).toBe(String(want[i]));
          else expect(Math.abs(v - want[i]), `${f.name} [${i}]`).toBeLessThanOrEqual(4e-6 * Math.max(1, Math.abs(want[i])));
        });
      }
      expect(calls).toBe(2);
    } finally {
      setCpuKernels(before);
    }
  });

  it('maskedFill (whereScalar) with a mask broadcast over the leading dims runs as blocks with the general loop\'s bits, NaN payloads kept', () => {
    const x = randn([3, 4, 6, 5]);
    const xb = x.dataSync() as Float32Array;
    new Uint32Array(xb.buffer, xb.byteOffset, xb.length)[2] = 0x7fa00001; // a NaN with a payload
    const xt = x.permute([3, 2, 1, 0]).contiguous().permute([3, 2, 1, 0]); // same values, strided: the general loop
    for (const mask of [randn([6, 5]).gt(0), randn([4, 1, 5]).gt(0), randn([3, 4, 6, 5]).gt(0), randn([5]).gt(0)]) {
      for (const value of [-Infinity, 0.1, Number.NaN]) {
        const bitsOf = (t: typeof x) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
        expect(bitsOf(x.maskedFill(mask, value)), `mask ${mask.shape} value ${value}`).toEqual(bitsOf(xt.maskedFill(mask, value)));
        expect(bitsOf(where(mask, x, value)), `where, mask ${mask.shape}`).toEqual(bitsOf(where(mask, xt, value)));
      }
    }
  });

  it('gather and scatterAdd with one index vector expanded over the other dims (indexSelect) equal the strided walk', () => {
    const x = randn([3, 4, 5, 6]);
    const xt = x.permute([3, 2, 1, 0]).contiguous().permute([3, 2, 1, 0]);
    for (const dim of [0, 1, 2, 3]) {
      const v = randint(0, x.shape[dim], [7]);
      const shape = x.shape.map((s, d) => (d === dim ? 7 : s));
      const idx = v.reshape(shape.map((s, d) => (d === dim ? 7 : 1))).expand(shape);
      expect(plain(gather(x, dim, idx))).toEqual(plain(gather(xt, dim, idx)));
      expect(plain(gather(x, dim, idx))).toEqual(plain(gather(x, dim, idx.contiguous())));
      const src = randn(shape);
      expect(plain(scatterAdd(x, dim, idx, src))).toEqual(plain(scatterAdd(xt, dim, idx, src)));
    }
    const bad = tensor([9], { dtype: 'int32' }).reshape([1, 1, 1, 1]).expand([3, 4, 5, 1]);
    expect(() => gather(x, 3, bad)).toThrow(/gather: index 9 at \[0,0,0,0\] of index \[3,4,5,1\] is out of range \[0, 6\)/);
    expect(() => scatterAdd(x, 3, bad, randn([3, 4, 5, 1]))).toThrow(/scatterAdd: index 9 at .* is out of range \[0, 6\)/);
  });

  it('gather and scatterAdd on contiguous blocks equal the strided walk', () => {
    const x = randn([4, 6, 5]);
    const xt = x.transpose(0, 2).contiguous().transpose(0, 2);
    const idx = randint(0, 6, [4, 3, 5]);
    expect(plain(gather(x, 1, idx))).toEqual(plain(gather(xt, 1, idx)));
    const src = randn([4, 3, 5]);
    const srcT = src.transpose(0, 2).contiguous().transpose(0, 2);
    expect(plain(scatterAdd(x, 1, idx, src))).toEqual(plain(scatterAdd(x, 1, idx, srcT)));
    expect(() => gather(x, 1, tensor([[[6]]], { dtype: 'int32' }).expand([4, 1, 5]).contiguous())).toThrow(/out of range/);
    // an embedding lookup: rows of w picked by an index expanded over the feature dim
    const w = randn([7, 6]);
    const rowsIdx = randint(0, 7, [9, 1]).expand([9, 6]);
    expect(plain(gather(w, 0, rowsIdx))).toEqual(plain(gather(w.transpose(0, 1).contiguous().transpose(0, 1), 0, rowsIdx)));
    expect(plain(gather(w, 0, rowsIdx))).toEqual(plain(gather(w, 0, rowsIdx.contiguous())));
    const g = randn([9, 6]);
    expect(plain(scatterAdd(w, 0, rowsIdx, g))).toEqual(plain(scatterAdd(w, 0, rowsIdx.contiguous(), g)));
    expect(plain(scatterAdd(w, 0, rowsIdx, g))).toEqual(plain(scatterAdd(w, 0, rowsIdx, g.transpose(0, 1).contiguous().transpose(0, 1))));
  });

  it('2x2 max pooling on float32 bits picks the first max, the last NaN, and treats -0 as +0', () => {
    const windows = [
      [1, 2, 2, 0], // tie: the first 2
      [-0, 0, -1, -2], // -0 ties +0: the first
      [-5, NaN, NaN, 7], // the last NaN, as PyTorch
      [-Infinity, -3, -2.5, -2.75],
      [3, NaN, 1, 2], // a NaN with the sign bit set, below
      [-1e-45, -0, 0, 1e-45],
    ];
    const f32 = new Float32Array(windows.flat());
    new Int32Array(f32.buffer)[17] = 0xffc00000 | 0; // -NaN, as x86 makes it
    const attrs = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [0, 0].map(() => 1) } as never;
    const info = (data: Float32Array | Float64Array) => ({ data, shape: [1, windows.length, 2, 2], strides: [4 * windows.length, 4, 2, 1], offset: 0, dtype: data instanceof Float32Array ? 'float32' : 'float64' }) as never;
    const out = { shape: [1, windows.length, 1, 1], dtype: 'int32' } as never;
    const got = Array.from(maxPool2dIndicesKernel([info(f32)], attrs, out));
    expect(got).toEqual([1, 0, 2, 2, 1, 3]);
    expect(got).toEqual(Array.from(maxPool2dIndicesKernel([info(Float64Array.from(f32))], attrs, out)));
    // many ties and NaNs: every window must pick what the general scan picks
    const pool = [NaN, -0, 0, 1, -1, Infinity, -Infinity, 2];
    const n = 4096;
    let seed = 12345;
    const many = Float32Array.from({ length: 4 * n }, () => pool[((seed = (Math.imul(seed, 1664525) + 1013904223) | 0) >>> 29) & 7]);
    const manyInfo = (data: Float32Array | Float64Array) => ({ data, shape: [1, n, 2, 2], strides: [4 * n, 4, 2, 1], offset: 0, dtype: data instanceof Float32Array ? 'float32' : 'float64' }) as never;
    const manyOut = { shape: [1, n, 1, 1], dtype: 'int32' } as never;
    expect(Array.from(maxPool2dIndicesKernel([manyInfo(many)], attrs, manyOut))).toEqual(Array.from(maxPool2dIndicesKernel([manyInfo(Float64Array.from(many))], attrs, manyOut)));
    const big = randn([2, 3, 9, 8]);
    expect(plain(maxPool2d(big, 2))).toEqual(plain(maxPool2d(big.cast('float64'), 2).cast('float32')));
  });

  it('many tiny outer products (K = 1) give the GEMM bits of each product, -0 and non-finite values included', () => {
    const before = kernelChoice();
    try {
      for (const kernels of wasmAvailable() ? (['js', 'wasm'] as const) : (['js'] as const)) {
        setCpuKernels(kernels);
        const ad = Float32Array.from(randn([60]).dataSync());
        ad.set(specials, 0); // NaN, -0, infinities against ordinary values
        const bd = Float32Array.from(randn([90]).dataSync());
        bd.set(specials.slice().reverse(), 6);
        const a = tensor(ad).reshape([3, 5, 4, 1]);
        const b = tensor(bd).reshape([3, 5, 1, 6]);
        const fast = plain(matmul(a, b));
        // one item at a time: the GEMM path
        const slow = Array.from({ length: 15 }, (_, i) => plain(matmul(a.reshape([15, 4, 1]).select(0, i), b.reshape([15, 1, 6]).select(0, i)))).flat();
        expect(fast.length).toBe(slow.length);
        for (let i = 0; i < slow.length; i++) expect(Object.is(fast[i], slow[i]) || (Number.isNaN(fast[i]) && Number.isNaN(slow[i])), `${kernels} [${i}] ${fast[i]} vs ${slow[i]}`).toBe(true);
      }
    } finally {
      setCpuKernels(before);
    }
  });
});
