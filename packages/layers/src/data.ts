import { DLError, Generator, IndexError, ShapeError, Tensor, fmt, indexSelect, scope, stack, tensor } from '@dl/tensor';
import { checkFlag, checkInt, show } from './args.js';

/** Random access to examples: `length` and `get(i)`, as PyTorch's map-style Dataset. */
export interface Dataset<T> {
  readonly length: number;
  get(i: number): T;
}

/**
 * Rows of equally long tensors: example i is [t0[i], t1[i], ...]. Batches are gathered with one
 * indexSelect per tensor.
 *
 *   const ds = new TensorDataset(images, labels); // images [N, 1, 28, 28], labels [N]
 *   const [x, y] = ds.get(0);
 */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: Tensor[];
  constructor(...tensors: Tensor[]) {
    if (!tensors.length) throw new DLError('TensorDataset', 'needs at least one tensor');
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new DLError('TensorDataset', `argument ${i} is not a Tensor (got ${t === null ? 'null' : typeof t})`);
    });
    const n = tensors[0].shape[0];
    for (const t of tensors) {
      if (t.ndim === 0 || t.shape[0] !== n) {
        throw new ShapeError('TensorDataset', `every tensor needs the same first dim; got ${tensors.map((x) => fmt(x.shape)).join(', ')}`);
      }
    }
    this.tensors = tensors;
  }
  get length(): number {
    return this.tensors[0].shape[0];
  }
  get(i: number): Tensor[] {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new IndexError('TensorDataset.get', `index ${i} is out of range for ${this.length} examples`);
    return this.tensors.map((t) => t.select(0, i));
  }
  /** The examples at `indices`, already batched (each tensor on its own device). */
  getBatch(indices: readonly number[]): Tensor[] {
    const n = this.length;
    indices.forEach((i, k) => {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new IndexError('TensorDataset.getBatch', `index ${i} at position ${k} is out of range for ${n} examples`);
    });
    // the index and the views indexSelect makes of it are freed; only the batch survives
    return scope(() => {
      const idx = new Map<string, Tensor>(); // one index per device the tensors live on
      return this.tensors.map((t) => {
        let i = idx.get(t.device);
        if (!i) idx.set(t.device, (i = tensor(Int32Array.from(indices), { device: t.device })));
        return indexSelect(t, 0, i);
      });
    });
  }
}

type Collated = Tensor | Collated[] | { [k: string]: Collated };

/**
 * Stacks a list of examples into a batch: tensors are stacked along a new dim 0, numbers become a
 * 1-D tensor (int32 when all are integers), arrays and objects are collated per position / key.
 */
export function defaultCollate(items: readonly unknown[]): Collated {
  if (!items.length) throw new DLError('defaultCollate', 'no examples to batch');
  const first = items[0];
  if (first instanceof Tensor) return stack(items as Tensor[]);
  if (typeof first === 'number') {
    const nums = items as number[];
    return nums.every(Number.isInteger) ? tensor(Int32Array.from(nums)) : tensor(Float32Array.from(nums));
  }
  if (Array.isArray(first)) return first.map((_, i) => defaultCollate(items.map((it) => (it as unknown[])[i])));
  if (first && typeof first === 'object') {
    return Object.fromEntries(Object.keys(first).map((k) => [k, defaultCollate(items.map((it) => (it as Record<string, unknown>)[k]))]));
  }
  throw new DLError('defaultCollate', `cannot batch ${typeof first} examples; pass a collate function`);
}

/**
 * A permutation of 0..n-1 from (seed, epoch): Generator.permutation with the key (seed's low word,
 * its high word + epoch * 0x9e3779b9) from counter 0, the same on every machine.
 *
 *   seededPermutation(10, 0, 3); // the order of epoch 3 of a loader with seed 0
 */
export function seededPermutation(n: number, seed: number, epoch = 0): Int32Array {
  const key: [number, number] = [seed >>> 0, (Math.floor(seed / 2 ** 32) + epoch * 0x9e3779b9) >>> 0];
  return new Generator().setState({ key, counter: 0 }).permutation(n);
}

export interface DataLoaderOptions<T, B> {
  batchSize?: number;
  /** new order every epoch, from (seed, epoch), or drawn from `generator` */
  shuffle?: boolean;
  seed?: number;
  /**
   * shuffle with orders drawn from this generator at the start of each epoch (as PyTorch's
   * DataLoader(generator=...)); resume by restoring its state. Excludes `seed`.
   */
  generator?: Generator;
  /** skip the last incomplete batch */
  dropLast?: boolean;
  /** turns a list of examples into a batch (default: defaultCollate) */
  collate?: (items: T[]) => B;
}

/**
 * Iterates a dataset in batches. Each `for...of` is one epoch; with `shuffle` the order comes from
 * (seed, epoch), so a resumed run sees the same batches (`setEpoch`), or from a `generator`.
 *
 *   const loader = new DataLoader(ds, { batchSize: 64, shuffle: true, seed: 0 });
 *   for (const [x, y] of loader) { ... }
 *   const g = new Generator(0);
 *   new DataLoader(ds, { batchSize: 64, shuffle: true, generator: g }); // resume: g.setState(saved)
 */
export class DataLoader<T, B = T extends Tensor[] ? Tensor[] : Collated> implements Iterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly generator: Generator | undefined;
  readonly dropLast: boolean;
  readonly collate: ((items: T[]) => B) | undefined;
  /** epoch of the next iteration */
  epoch = 0;

  constructor(
    readonly dataset: Dataset<T>,
    { batchSize = 1, shuffle = false, seed, generator, dropLast = false, collate }: DataLoaderOptions<T, B> = {},
  ) {
    const ds = dataset as Partial<Dataset<T>> | null;
    if (!ds || typeof ds.get !== 'function' || !Number.isSafeInteger(ds.length) || (ds.length as number) < 0) {
      throw new DLError('DataLoader', `dataset must have a non-negative integer length and a get(i) method, got ${ds === null ? 'null' : typeof ds} with length ${show(ds?.length)}`);
    }
    checkInt('DataLoader', 'batchSize', batchSize, 1);
    checkFlag('DataLoader', 'shuffle', shuffle);
    checkFlag('DataLoader', 'dropLast', dropLast);
    if (seed !== undefined) checkInt('DataLoader', 'seed', seed);
    if (seed !== undefined && generator) throw new DLError('DataLoader', 'give seed or generator, not both');
    if (generator !== undefined && !(generator instanceof Generator)) throw new DLError('DataLoader', `generator must be a Generator, got ${typeof generator}`);
    if (collate !== undefined && typeof collate !== 'function') throw new DLError('DataLoader', `collate must be a function, got ${typeof collate}`);
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.seed = seed ?? 0;
    this.generator = generator;
    this.dropLast = dropLast;
    this.collate = collate;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Sets the epoch whose order the next iteration uses (for resuming). */
  setEpoch(epoch: number): void {
    checkInt('DataLoader.setEpoch', 'epoch', epoch);
    this.epoch = epoch;
  }

  /** Example indices of each batch of the next epoch (with a generator, a new draw from it). */
  batchIndices(epoch = this.epoch): number[][] {
    const n = this.dataset.length;
    let order: Int32Array;
    if (!this.shuffle) order = Int32Array.from({ length: n }, (_, i) => i);
    else order = this.generator ? this.generator.permutation(n) : seededPermutation(n, this.seed, epoch);
    const out: number[][] = [];
    for (let s = 0; s < n; s += this.batchSize) {
      const b = Array.from(order.subarray(s, Math.min(n, s + this.batchSize)));
      if (b.length < this.batchSize && this.dropLast) break;
      out.push(b);
    }
    return out;
  }

  *[Symbol.iterator](): Iterator<B> {
    const batches = this.batchIndices(this.epoch);
    this.epoch++;
    const ds = this.dataset as Dataset<T> & { getBatch?: (idx: readonly number[]) => unknown };
    for (const idx of batches) {
      if (!this.collate && typeof ds.getBatch === 'function') yield ds.getBatch(idx) as B;
      else {
        // examples made for this batch are freed once collated; the batch survives
        yield scope(() => {
          const items = idx.map((i) => ds.get(i));
          return this.collate ? this.collate(items) : (defaultCollate(items) as B);
        });
      }
    }
  }
}
