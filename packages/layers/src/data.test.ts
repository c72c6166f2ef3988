import { arange, IndexError, memory, tensor, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { DataLoader, TensorDataset, defaultCollate, seededPermutation } from './data.js';

describe('DataLoader', () => {
  const ds = new TensorDataset(arange(10).reshape([10, 1]).float(), arange(10));

  it('batches in order, with a short last batch unless dropLast', () => {
    const sizes = [...new DataLoader(ds, { batchSize: 4 })].map(([x]) => x.shape[0]);
    expect(sizes).toEqual([4, 4, 2]);
    expect(new DataLoader(ds, { batchSize: 4 }).length).toBe(3);
    const dl = new DataLoader(ds, { batchSize: 4, dropLast: true });
    expect([...dl].map(([, y]) => y.toArray())).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(dl.length).toBe(2);
  });

  it('shuffles by (seed, epoch): each epoch differs, the same seed repeats, setEpoch resumes', () => {
    const order = (dl: DataLoader<Tensor[]>) => [...dl].flatMap(([, y]) => y.toArray() as number[]);
    const a = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 5 });
    const e0 = order(a);
    const e1 = order(a);
    expect([...e0].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(e0).not.toEqual(e1);
    const b = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 5 });
    b.setEpoch(1);
    expect(order(b)).toEqual(e1);
    expect(order(new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 6 }))).not.toEqual(e0);
  });

  it('leaves nothing behind but the batches it yields', () => {
    const dl = new DataLoader(ds, { batchSize: 4, shuffle: true });
    const before = memory().tensors;
    for (const batch of dl) batch.forEach((t) => t.dispose());
    expect(memory().tensors).toBe(before);
    const collated = new DataLoader({ length: 10, get: (i: number) => ds.get(i) }, { batchSize: 4 });
    for (const batch of collated) (batch as Tensor[]).forEach((t) => t.dispose());
    expect(memory().tensors).toBe(before);
  });

  it('uses a collate function on individual examples', () => {
    const words = { length: 3, get: (i: number) => ['a', 'bb', 'ccc'][i] };
    const dl = new DataLoader(words, { batchSize: 2, collate: (items) => items.join('+') });
    expect([...dl]).toEqual(['a+bb', 'ccc']);
  });

  it('defaultCollate stacks tensors and batches numbers, arrays and objects', () => {
    const b = defaultCollate([{ x: tensor([1, 2]), y: 3 }, { x: tensor([4, 5]), y: 6 }]) as { x: Tensor; y: Tensor };
    expect(b.x.toArray()).toEqual([[1, 2], [4, 5]]);
    expect(b.y.dtype).toBe('int32');
    expect(b.y.toArray()).toEqual([3, 6]);
  });

  it('TensorDataset checks lengths and indices', () => {
    expect(() => new TensorDataset(arange(3), arange(4))).toThrow(/same first dim/);
    expect(() => ds.get(10)).toThrow(IndexError);
    expect(ds.get(2)[1].item()).toBe(2);
  });

  it('seededPermutation is a permutation', () => {
    const p = Array.from(seededPermutation(100, 1));
    expect(new Set(p).size).toBe(100);
    expect(p).not.toEqual([...Array(100).keys()]);
  });
});
