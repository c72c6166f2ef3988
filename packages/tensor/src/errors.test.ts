import { describe, expect, it } from 'vitest';
import {
  DeviceError, DisposedError, DLError, DTypeError, IndexError, ShapeError,
  add, arange, cat, conv2d, cpuBackend, gather, layerNorm, manualSeed, matmul, memory, ones, rand, randint, randn,
  pad, registerBackend, reshape, scope, stack, sum, tensor, transpose, zeros, type Tensor,
} from './index.js';

/** Runs fn, expects it to throw an instance of `type`, and returns the error. */
function thrown<E extends Error>(fn: () => unknown, type: abstract new (...a: never[]) => E): E {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    return e as E;
  }
  throw new Error(`expected ${type.name} to be thrown`);
}

describe('bad input throws typed errors that name the shapes', () => {
  it('matmul with mismatched inner dims names both shapes', () => {
    const e = thrown(() => matmul(zeros([2, 3]), zeros([4, 5])), ShapeError);
    expect(e).toBeInstanceOf(DLError);
    expect(e.message).toContain('matmul');
    expect(e.message).toContain('[2,3]');
    expect(e.message).toContain('[4,5]');
  });

  it('ragged nested arrays', () => {
    const e = thrown(() => tensor([[1, 2, 3], [4, 5]]), ShapeError);
    expect(e.message).toContain('ragged');
    expect(e.message).toContain('[2,3]');
    thrown(() => tensor([[1, 2], 3] as never), ShapeError);
    thrown(() => tensor([1, [2, 3]] as never), ShapeError);
    thrown(() => tensor([[1, 'a']] as never), ShapeError);
  });

  it('NaN, negative and fractional sizes', () => {
    for (const shape of [[2, NaN], [-1, 3], [1.5], [Infinity]]) {
      const e = thrown(() => zeros(shape), ShapeError);
      expect(e.message).toContain(`[${shape.join(',')}]`);
    }
    thrown(() => ones([2, -3]), ShapeError);
    thrown(() => rand([NaN]), ShapeError);
    thrown(() => reshape(zeros([2, 3]), [NaN, 6]), ShapeError);
  });

  it('out-of-range dims throw IndexError, which is a DLError (not a RangeError)', () => {
    const x = zeros([2, 3]);
    const e = thrown(() => sum(x, 2), IndexError);
    expect(e).toBeInstanceOf(DLError);
    expect(e).not.toBeInstanceOf(RangeError);
    expect(e.name).toBe('IndexError');
    expect(e.message).toContain('sum');
    expect(e.message).toContain('2');
    thrown(() => sum(x, -3), IndexError);
    thrown(() => transpose(x, 0, 5), IndexError);
    thrown(() => x.softmax(2), IndexError);
    thrown(() => x.unsqueeze(4), IndexError);
    thrown(() => cat([x, x], 3), IndexError);
    thrown(() => x.select(0, 2), IndexError);
    thrown(() => x.narrow(1, 2, 2), IndexError);
  });

  it('broadcasting failure names both shapes', () => {
    const e = thrown(() => add(zeros([2, 3]), zeros([4])), ShapeError);
    expect(e.message).toContain('add');
    expect(e.message).toContain('[2,3]');
    expect(e.message).toContain('[4]');
    const w = thrown(() => zeros([3, 1, 5]).mul(zeros([2, 4])), ShapeError);
    expect(w.message).toContain('[3,1,5]');
    expect(w.message).toContain('[2,4]');
  });

  it('layerNorm names x, the normalized shape and the affine shapes', () => {
    const e = thrown(() => layerNorm(zeros([2, 3, 8]), [4]), ShapeError);
    expect(e.message).toContain('layerNorm');
    expect(e.message).toContain('[4]');
    expect(e.message).toContain('[2,3,8]');
    const w = thrown(() => layerNorm(zeros([2, 8]), 8, zeros([2, 4])), ShapeError);
    expect(w.message).toContain('weight');
    expect(w.message).toContain('[2,4]');
    thrown(() => layerNorm(zeros([2, 8]), []), ShapeError);
    thrown(() => layerNorm(zeros([2, 8]), 8, null, zeros([8], { dtype: 'float64' })), DTypeError);
    thrown(() => layerNorm(zeros([2, 8], { dtype: 'int32' }), 8), DTypeError);
    thrown(() => layerNorm(zeros([2, 8]), 8, null, null, NaN), DLError);
  });

  it('conv2d channel mismatch names both shapes', () => {
    const e = thrown(() => conv2d(zeros([1, 3, 8, 8]), zeros([4, 2, 3, 3])), ShapeError);
    expect(e.message).toContain('conv2d');
    expect(e.message).toContain('[1,3,8,8]');
    expect(e.message).toContain('[4,2,3,3]');
    const k = thrown(() => conv2d(zeros([1, 3, 2, 2]), zeros([4, 3, 3, 3])), ShapeError);
    expect(k.message).toContain('[1,3,2,2]');
  });

  it('cat and stack mismatches name every shape', () => {
    const e = thrown(() => cat([zeros([2, 3]), zeros([2, 4])], 0), ShapeError);
    expect(e.message).toContain('[2,3]');
    expect(e.message).toContain('[2,4]');
    const r = thrown(() => cat([zeros([2, 3]), zeros([3])], 0), ShapeError);
    expect(r.message).toContain('[3]');
    const s = thrown(() => stack([zeros([2]), zeros([3])]), ShapeError);
    expect(s.message).toContain('[2]');
    expect(s.message).toContain('[3]');
  });

  it('reshape to a different element count names the shapes', () => {
    const e = thrown(() => reshape(zeros([2, 3]), [4, 2]), ShapeError);
    expect(e.message).toContain('[4,2]');
    expect(e.message).toContain('[2,3]');
    thrown(() => reshape(zeros([2, 3]), [-1, 4]), ShapeError);
    thrown(() => reshape(zeros([2, 3]), [-1, -1]), ShapeError);
    const v = thrown(() => zeros([2, 3]).transpose(0, 1).view([6]), ShapeError);
    expect(v.message).toContain('[3,2]');
  });

  it('gather with an out-of-range index throws IndexError', () => {
    const x = arange(6).reshape(2, 3);
    const e = thrown(() => gather(x, 1, tensor([[0, 3]], { dtype: 'int32' })), IndexError);
    expect(e.message).toContain('gather');
    expect(e.message).toContain('3');
    thrown(() => gather(x, 0, tensor([[-3]], { dtype: 'int32' })), IndexError);
    thrown(() => x.indexSelect(0, tensor([2], { dtype: 'int32' })), IndexError);
  });

  it('index tensors must be int32', () => {
    const e = thrown(() => gather(zeros([2, 2]), 0, zeros([2, 2])), DTypeError);
    expect(e.message).toContain('int32');
    expect(e.message).toContain('[2,2]');
  });

  it('dtypes an op does not accept throw DTypeError naming dtype and shape', () => {
    const i = arange(16).reshape(1, 1, 4, 4);
    const e = thrown(() => conv2d(i, zeros([1, 1, 3, 3])), DTypeError);
    expect(e.message).toContain('int32');
    expect(e.message).toContain('[1,1,4,4]');
    const m = thrown(() => zeros([2, 2]).maskedFill(zeros([2, 2]), 1), DTypeError);
    expect(m.message).toContain('bool');
    expect(m.message).toContain('[2,2]');
    thrown(() => rand([2], { dtype: 'int32' }), DTypeError);
    thrown(() => matmul(ones([2, 2], { dtype: 'bool' }), ones([2, 2], { dtype: 'bool' })), DTypeError);
  });

  it('bad sizes and arguments never allocate or hang', () => {
    thrown(() => arange(0, 10, 0), ShapeError);
    thrown(() => arange(0, Infinity), ShapeError);
    thrown(() => tensor(1.5).sum(1), IndexError); // a 0-d tensor has dims 0 and -1 only
    const m = thrown(() => zeros([0, 3]).max(0), ShapeError);
    expect(m.message).toContain('[0,3]');
    const k = thrown(() => zeros([2, 3]).topk(4), ShapeError);
    expect(k.message).toContain('[2,3]');
    const p = thrown(() => pad(zeros([2, 3]), [3, 0], 'reflect'), ShapeError);
    expect(p.message).toContain('[2,3]');
    const x = thrown(() => zeros([2, 3]).expand(4, 3), ShapeError);
    expect(x.message).toContain('[2,3]');
    expect(x.message).toContain('[4,3]');
    thrown(() => zeros([5]).split([2, 2]), ShapeError);
    thrown(() => zeros([2, 3]).permute(0, 0), IndexError);
  });

  it('using a disposed tensor throws DisposedError naming its shape', () => {
    const x = ones([2, 5]);
    x.dispose();
    const e = thrown(() => x.dataSync(), DisposedError);
    expect(e.message).toContain('[2,5]');
    thrown(() => x.add(1), DisposedError);
    x.dispose(); // a second dispose is a no-op
  });

  it('tensors on different devices throw DeviceError naming devices and shapes', () => {
    // a second CPU backend under another name stands in for another device
    registerBackend({ ...cpuBackend, name: 'cpu-b' });
    const a = zeros([2, 3]);
    const b = zeros([2, 3], { device: 'cpu-b' });
    const e = thrown(() => add(a, b), DeviceError);
    expect(e.message).toContain('cpu-b');
    expect(e.message).toContain('[2,3]');
    thrown(() => matmul(a, b.T), DeviceError);
    thrown(() => zeros([2], { device: 'nowhere' }), DeviceError);
  });
});

describe('views share storage', () => {
  it('reshape of a contiguous tensor is a view; transpose then reshape copies', () => {
    const x = arange(12).reshape(3, 4);
    const v = x.reshape(2, 6);
    expect(v.storage).toBe(x.storage);
    expect(x.view(4, 3).storage).toBe(x.storage);
    const t = x.transpose(0, 1);
    expect(t.storage).toBe(x.storage);
    expect(t.isContiguous()).toBe(false);
    const c = t.reshape(12);
    expect(c.storage).not.toBe(x.storage);
    expect(c.isContiguous()).toBe(true);
    expect(Array.from(c.dataSync())).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  });

  it('slices, expands and squeezes share storage; writes through a view are seen by the base', () => {
    const x = zeros([4, 4]);
    const s = x.slice(0, 1, 4, 2).slice(1, 0, 4, 3); // rows 1,3 x cols 0,3
    expect(s.storage).toBe(x.storage);
    expect(s.shape).toEqual([2, 2]);
    s.fill_(7);
    expect(x.toArray()).toEqual([
      [0, 0, 0, 0],
      [7, 0, 0, 7],
      [0, 0, 0, 0],
      [7, 0, 0, 7],
    ]);
    expect(x.unsqueeze(0).expand(3, 4, 4).storage).toBe(x.storage);
    expect(x.contiguous()).toBe(x);
  });

  it('storage lives while a view does', () => {
    const before = memory();
    const x = ones([8]);
    const v = x.slice(0, 2, 6);
    x.dispose();
    expect(Array.from(v.dataSync())).toEqual([1, 1, 1, 1]);
    expect(memory().bytes).toBe(before.bytes + 32);
    v.dispose();
    expect(memory().bytes).toBe(before.bytes);
    expect(memory().tensors).toBe(before.tensors);
  });
});

describe('memory', () => {
  it('scope() frees intermediates and keeps what it returns', () => {
    const x = ones([3, 3]);
    const start = memory().tensors;
    const y = scope(() => x.mul(2).add(1).relu().sum(0));
    expect(memory().tensors).toBe(start + 1);
    expect(Array.from(y.dataSync())).toEqual([9, 9, 9]);
    const { a, b } = scope(() => ({ a: x.add(1), b: [x.exp(), x.neg().abs()] }));
    expect(memory().tensors).toBe(start + 4);
    [y, a, ...b].forEach((t) => t.dispose());
    expect(memory().tensors).toBe(start);
  });

  it('scope() frees what it made when fn throws', () => {
    const x = ones([2]);
    const start = memory().tensors;
    expect(() => scope(() => {
      x.add(1);
      return x.matmul(zeros([3, 3]));
    })).toThrow(ShapeError);
    expect(memory().tensors).toBe(start);
  });

  it('Symbol.dispose frees a tensor at the end of a `using` block', () => {
    const start = memory().tensors;
    {
      using t = zeros([4]);
      expect(t.size).toBe(4);
      expect(memory().tensors).toBe(start + 1);
    }
    expect(memory().tensors).toBe(start);
  });

  it('memory() counts bytes of live storage', () => {
    const start = memory();
    const t = zeros([10, 10]);
    expect(memory().bytes - start.bytes).toBe(400);
    expect(memory().devices.cpu.tensors).toBeGreaterThanOrEqual(1);
    t.dispose();
    expect(memory().bytes).toBe(start.bytes);
  });
});

describe('manualSeed', () => {
  const draw = (): Tensor[] => [rand([5]), randn([2, 3]), randint(0, 10, [6])];

  it('the same seed gives the same numbers', () => {
    manualSeed(1234);
    const a = draw().map((t) => Array.from(t.dataSync()));
    manualSeed(1234);
    const b = draw().map((t) => Array.from(t.dataSync()));
    expect(b).toEqual(a);
    manualSeed(1235);
    const c = draw().map((t) => Array.from(t.dataSync()));
    expect(c[0]).not.toEqual(a[0]);
  });

  it('successive draws differ and stay in range', () => {
    manualSeed(7);
    const u = rand([1000]).dataSync();
    const u2 = rand([1000]).dataSync();
    expect(Array.from(u)).not.toEqual(Array.from(u2));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const r = randint(-3, 4, [500]);
    expect(r.dtype).toBe('int32');
    const v = r.dataSync();
    expect(Math.min(...v)).toBe(-3);
    expect(Math.max(...v)).toBe(3);
  });

  it('randn has mean near 0 and std near 1', () => {
    manualSeed(3);
    const x = randn([20000]);
    expect(Math.abs(x.mean().item())).toBeLessThan(0.03);
    expect(Math.abs(x.std().item() - 1)).toBeLessThan(0.03);
  });
});
