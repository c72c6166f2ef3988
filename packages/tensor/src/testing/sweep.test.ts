import { describe, expect, it } from 'vitest';
import { DLError, IndexError, ShapeError, tensor, zeros } from '../index.js';
import { runSweepCase } from './sweep.js';

// The sweep runner must fail every way a case can go wrong, or the sweeps built on it prove nothing.
describe('runSweepCase', () => {
  const reshape = () => zeros([2, 3]).reshape([4]);

  it('passes a typed error with the op and the words asked for', async () => {
    await runSweepCase({ name: 'ok', run: reshape, throws: ShapeError, op: 'reshape', says: ['[4]', '[2,3]'] });
    await runSweepCase({ name: 'base class', run: reshape, throws: DLError, op: 'reshape' });
  });

  it('fails a call that returns where it must throw: a silent wrong answer', async () => {
    await expect(runSweepCase({ name: 'c', run: () => zeros([2]), throws: ShapeError, op: 'full' })).rejects.toThrow(
      'c: silent wrong answer: expected a ShapeError from full, got a float32 tensor [2] on cpu',
    );
  });

  it('fails an untyped error, another class, another op and a message without the words', async () => {
    const cases = [
      [() => { throw new RangeError('x'); }, 'threw an untyped RangeError: x'],
      [reshape, 'threw ShapeError: reshape: shape [4] is invalid for x [2,3] (6 elements); expected an IndexError'],
    ] as const;
    for (const [run, msg] of cases) await expect(runSweepCase({ name: 'c', run, throws: IndexError, op: 'reshape' })).rejects.toThrow(msg);
    await expect(runSweepCase({ name: 'c', run: reshape, throws: ShapeError, op: 'view' })).rejects.toThrow("error op is 'reshape', expected 'view'");
    await expect(runSweepCase({ name: 'c', run: reshape, throws: ShapeError, op: 'reshape', says: ['[5]'] })).rejects.toThrow('message lacks "[5]"');
  });

  it('awaits async calls (a rejection is the error)', async () => {
    await runSweepCase({ name: 'async', run: async () => reshape(), throws: ShapeError, op: 'reshape' });
  });

  it('checks shape, dtype and values (NaN matches NaN, infinities exactly, ints exactly)', async () => {
    const t = () => tensor([1, NaN, Infinity]);
    await runSweepCase({ name: 'ok', run: t, passes: { shape: [3], dtype: 'float32', values: [1 + 1e-8, NaN, Infinity] } });
    await expect(runSweepCase({ name: 'c', run: t, passes: { shape: [1, 3] } })).rejects.toThrow('shape [3], expected [1,3]');
    await expect(runSweepCase({ name: 'c', run: t, passes: { shape: [3], dtype: 'int32' } })).rejects.toThrow('dtype float32, expected int32');
    await expect(runSweepCase({ name: 'c', run: t, passes: { shape: [3], values: [1, 0, Infinity] } })).rejects.toThrow('first difference at 1');
    await expect(runSweepCase({ name: 'c', run: t, passes: { shape: [3], values: [1, NaN, -Infinity] } })).rejects.toThrow('first difference at 2');
    const ints = () => tensor(new Int32Array([5]));
    await expect(runSweepCase({ name: 'c', run: ints, passes: { shape: [1], values: [5.0000001] } })).rejects.toThrow('first difference at 0');
  });

  it('fails a call that must work but throws, and runs a check function on the result', async () => {
    await expect(runSweepCase({ name: 'c', run: reshape, passes: { shape: [4] } })).rejects.toThrow('c: must work (as in PyTorch) but threw ShapeError');
    await expect(runSweepCase({ name: 'c', run: () => 3, passes: (v) => expect(v).toBe(4) })).rejects.toThrow();
  });
});
