/**
 * Helpers of the runnables: joining stream chunks, abort races, sleeping, bounded concurrency and
 * merging async iterators.
 */
import { AbortError, ChainsError } from '../errors.js';

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/**
 * Joins two stream chunks into one: strings and arrays concatenate, objects with a `concat` method
 * (message chunks) use it, plain objects merge key by key (keys in both are concatenated).
 *
 *   concat('Hel', 'lo'); // 'Hello'
 *   concat({ a: 'x' }, { a: 'y', b: [1] }); // { a: 'xy', b: [1] }
 */
export function concat<T>(a: T, b: T): T {
  if (a === undefined || a === null) return b;
  if (b === undefined || b === null) return a;
  if (typeof a === 'string' && typeof b === 'string') return (a + b) as T;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b] as T;
  if (typeof (a as { concat?: unknown }).concat === 'function' && !isPlainObject(a)) return (a as unknown as { concat(x: T): T }).concat(b);
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? concat(out[k], v) : v;
    return out as T;
  }
  throw new ChainsError('concat', `cannot join stream chunks of types ${describe(a)} and ${describe(b)}; a step whose chunks do not concatenate should stream one chunk`);
}

function describe(x: unknown): string {
  if (Array.isArray(x)) return 'array';
  if (typeof x === 'object' && x !== null) return x.constructor?.name ?? 'object';
  return typeof x;
}

/** Throws AbortError when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, op: string): void {
  if (signal?.aborted) throw new AbortError(op, signal.reason);
}

/** `promise`, or an AbortError as soon as `signal` fires (the work itself is not stopped). */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, op: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new AbortError(op, signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError(op, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Resolves after `ms`, or rejects with AbortError when `signal` fires first. */
export function sleep(ms: number, signal?: AbortSignal, op = 'sleep'): Promise<void> {
  return raceAbort(
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => clearTimeout(t), { once: true });
    }),
    signal,
    op,
  );
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number | undefined, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const n = limit === undefined || limit <= 0 ? items.length : Math.min(limit, items.length);
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

/** One-item async iterable. */
export async function* once<T>(value: T): AsyncGenerator<T> {
  yield value;
}

/**
 * Interleaves async iterators, yielding `[key, value]` as each value arrives; ends when all end.
 * An error in one ends the merge (the others are closed) and is thrown.
 */
export async function* mergeIterators<K, V>(sources: readonly [K, AsyncIterator<V>][]): AsyncGenerator<[K, V]> {
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<V> }>>();
  const pull = (i: number) => pending.set(i, sources[i][1].next().then((r) => ({ i, r })));
  sources.forEach((_, i) => pull(i));
  try {
    while (pending.size) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) pending.delete(i);
      else {
        pull(i);
        yield [sources[i][0], r.value];
      }
    }
  } finally {
    for (const [i, p] of pending) {
      p.catch(() => {});
      sources[i][1].return?.()?.catch(() => {});
    }
  }
}
