import { Embedding, Linear, crossEntropy, parseSafetensors, serializeSafetensors } from '@dl/layers';
import {
  DTypeError, IndexError, arange, cast, eye, full, gather, indexSelect, linspace, oneHot, randn, scatterAdd, tensor, zeros, type Tensor,
} from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from './backend.js';
import { hasWebGPU, useWebGPU } from './test-utils.js';

const int = (v: number[], shape = [v.length]): Tensor => tensor(new Int32Array(v), { shape });

/** The error of class `cls` that `f` throws or rejects with (fails when it is another or none). */
async function caught<E extends Error>(f: () => unknown, cls: new (...a: never[]) => E): Promise<E> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    return e as E;
  }
  throw new Error(`expected a ${cls.name}, nothing was thrown`);
}

// WebGPU has no f64: float64 values must be refused (or converted where the user asked for
// another dtype), never uploaded as bytes and read back as float32 ([1, 2] came back [0, 1.875]).
describe.skipIf(!hasWebGPU)('float64 never reaches webgpu', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
  });

  it('.to / .toAsync refuse with a DTypeError naming the op, dtype and shape and suggesting .float()', async () => {
    const x = tensor([[1, 2, 3]], { dtype: 'float64' });
    const e = await caught(() => x.to('webgpu'), DTypeError);
    expect(e.message).toBe(`to: device 'webgpu' has no float64 (it holds ${gpu.dtypes.join(', ')}); tensor [1,3] is float64: convert it first, e.g. x.float().to('webgpu')`);
    expect((await caught(() => x.toAsync('webgpu'), DTypeError)).op).toBe('toAsync');
    expect(Array.from(await x.float().to('webgpu').data())).toEqual([1, 2, 3]);
  });

  it('the backend upload itself refuses float64 bytes', async () => {
    const e = await caught(() => gpu.upload(new Float64Array([1, 2]), 'float64'), DTypeError);
    expect(e.message).toMatch(/^upload: device 'webgpu' has no float64 .*\[2\] is float64/);
  });

  it('creation ops and cast with { device: webgpu, dtype: float64 } refuse', async () => {
    const opts = { device: 'webgpu', dtype: 'float64' } as const;
    const makers: [string, () => Tensor][] = [
      ['tensor', () => tensor([1, 2], opts)],
      ['tensor', () => tensor(new Float64Array([1, 2]), { device: 'webgpu' })],
      ['full', () => zeros([2], opts)],
      ['full', () => full([2], 1, opts)],
      ['arange', () => arange(0, 2, 1, opts)],
      ['linspace', () => linspace(0, 1, 2, opts)],
      ['eye', () => eye(2, 2, opts)],
      ['randomNormal', () => randn([2], opts)],
      ['cast', () => cast(zeros([2], { device: 'webgpu' }), 'float64')],
    ];
    for (const [op, make] of makers) {
      const e = await caught(make, DTypeError);
      expect(e.op, op).toBe(op);
      expect(e.message, op).toMatch(/has no float64 .*\[2(,2)?\] is float64: convert it first/);
    }
  });

  it('loadStateDict converts a float64 state dict (e.g. from PyTorch .double()) before moving it to a webgpu model', async () => {
    const m = new Linear(2, 1).to('webgpu');
    m.loadStateDict({ weight: tensor([[0.5, 1.25]], { dtype: 'float64' }), bias: tensor([-3], { dtype: 'float64' }) });
    expect(Array.from(await m.weight.data())).toEqual([0.5, 1.25]);
    expect(Array.from(await m.bias!.data())).toEqual([-3]);
    expect(m.weight.dtype).toBe('float32');
  });

  it('safetensors F64 entries: parsed onto webgpu they are refused; parsed on the CPU they load into a webgpu model converted', async () => {
    const bytes = await serializeSafetensors({ weight: tensor([[0.5, 1.25]], { dtype: 'float64' }), bias: tensor([2], { dtype: 'float64' }) });
    await caught(() => parseSafetensors(bytes, { device: 'webgpu' }), DTypeError);
    const m = new Linear(2, 1).to('webgpu');
    m.loadStateDict(parseSafetensors(bytes).tensors);
    expect(Array.from(await m.weight.data())).toEqual([0.5, 1.25]);
  });

  it('Module.to refuses a float64 parameter instead of reinterpreting it', async () => {
    const m = new Linear(2, 1);
    m.weight = m.weight.double().detach().requiresGrad_();
    await caught(() => m.to('webgpu'), DTypeError);
  });
});

// Index kernels on WebGPU cannot throw where they run: they record the first bad index in a small
// error buffer (as CUDA's device-side assert) and the next read or sync() raises it.
describe.skipIf(!hasWebGPU)('index errors on webgpu are raised at the next read', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
  });
  const x = (): Tensor => arange(0, 6).float().reshape([2, 3]).to('webgpu');

  it('gather with -1 and with n raise at await t.data(), naming the op and the bad value; the flag resets', async () => {
    for (const bad of [-1, 3]) {
      const g = gather(x(), 1, int([0, bad, 1, 2], [2, 2]).to('webgpu'));
      const e = await caught(() => g.data(), IndexError);
      expect(e.op).toBe('gather');
      expect(e.message).toContain(`index ${bad} is out of range [0, 3)`);
      expect(e.message).toMatch(/detected asynchronously/);
      // reported once: the next read of a valid result succeeds
      expect(Array.from(await gather(x(), 1, int([2, 0, 1, 1], [2, 2]).to('webgpu')).data())).toEqual([2, 0, 4, 4]);
    }
  });

  it('valid indices, a gathered value that is itself negative, and reads after an error are unaffected', async () => {
    const neg = tensor([[-1, -2, -3]]).to('webgpu');
    expect(Array.from(await gather(neg, 1, int([2, 1], [1, 2]).to('webgpu')).data())).toEqual([-3, -2]);
    expect(Array.from(await indexSelect(x(), 0, int([1, 0]).to('webgpu')).data())).toEqual([3, 4, 5, 0, 1, 2]);
  });

  it('scatterAdd, indexSelect, oneHot, Embedding and crossEntropy targets report bad indices', async () => {
    const cases: [string, () => Tensor][] = [
      ['scatterAdd', () => scatterAdd(zeros([3], { device: 'webgpu' }), 0, int([0, -1]).to('webgpu'), tensor([1, 1]).to('webgpu'))],
      ['gather', () => indexSelect(x(), 1, int([0, -1]).to('webgpu'))],
      ['scatterAdd', () => oneHot(int([0, 3]).to('webgpu'), 3)],
      ['gather', () => new Embedding(10, 4).to('webgpu').forward(int([-1]).to('webgpu'))],
      ['gather', () => crossEntropy(randn([2, 3]).to('webgpu'), int([0, -1]).to('webgpu'))],
    ];
    for (const [op, make] of cases) {
      const e = await caught(async () => make().data(), IndexError);
      expect(e.op, op).toBe(op);
    }
  });

  it('sync() raises a pending index error too, and clears it', async () => {
    gather(x(), 1, int([7], [1, 1]).to('webgpu'));
    const e = await caught(() => gpu.sync(), IndexError);
    expect(e.message).toContain('index 7 is out of range [0, 3)');
    await gpu.sync();
  });
});
