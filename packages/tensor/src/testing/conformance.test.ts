import { afterEach, describe, expect, it } from 'vitest';
import { keep, memory, tensor, type Tensor } from '../index.js';
import { OPS, runCase, type FixtureCase } from './conformance.js';

// runCase's leak check, on a made-up op registered for these tests only
const addOne: FixtureCase = {
  name: 'leakcheck/add one',
  op: 'leakcheck',
  inputs: [{ dtype: 'float32', shape: [2], data: [1, 2] }],
  expected: [{ dtype: 'float32', shape: [2], data: [2, 3] }],
};

describe('runCase counts live tensors exactly', () => {
  let leaked: Tensor | undefined;
  afterEach(() => {
    delete OPS.leakcheck;
    leaked?.dispose();
  });

  it('passes a case that frees every tensor it made', async () => {
    OPS.leakcheck = ([x]) => x.mul(2).sub(x).add(1);
    const before = memory().tensors;
    await runCase({ expect }, addOne, { device: 'cpu' });
    expect(memory().tensors).toBe(before);
  });

  // `stale` stands for a tensor an earlier test dropped without dispose(): its finalizer may run
  // during any await of a case. A microtask queued by the op runs at the case's first await, and
  // dispose() lowers memory()'s count as the finalizer would.
  it('fails a case whose op leaks a tensor while garbage collection frees another', async () => {
    const stale = tensor([0]);
    OPS.leakcheck = ([x]) => {
      leaked = keep(x.mul(2)); // escapes the op's scope: a leak
      queueMicrotask(() => stale.dispose());
      return x.add(1);
    };
    await expect(runCase({ expect }, addOne, { device: 'cpu' })).rejects.toThrow(/leakcheck\/add one: live tensors besides the inputs and outputs/);
  });

  it('passes a case that leaks nothing while garbage collection frees a tensor made before it', async () => {
    const stale = tensor([0]);
    OPS.leakcheck = ([x]) => {
      queueMicrotask(() => stale.dispose());
      return x.add(1);
    };
    await runCase({ expect }, addOne, { device: 'cpu' });
    expect(stale.isDisposed).toBe(true);
  });
});
