/** RunnableParallel: several runnables on the same input, their outputs in one object. */
import { Runnable, collectStream, type RunnableLike } from './base.js';
import { coerceToRunnable } from './coerce.js';
import type { RunContext, RunnableConfig } from './config.js';
import { mapConcurrent, mergeIterators } from './utils.js';

/** Yields only the last chunk of a cumulative stream (its whole output). */
async function* lastOnly<T>(gen: AsyncGenerator<T>): AsyncGenerator<T> {
  let last: T | undefined;
  let any = false;
  for await (const v of gen) {
    last = v;
    any = true;
  }
  if (any) yield last as T;
}

/**
 * Runs each step on the same input, concurrently (at most config.maxConcurrency at once), and
 * returns `{ key: output }`. An object literal in pipe / RunnableSequence.from becomes one. Its
 * stream yields `{ key: chunk }` as each step streams.
 *
 *   const both = RunnableParallel.from({ context: retriever, question: new RunnablePassthrough() });
 *   await both.invoke('Who is Ahab?'); // { context: Document[], question: 'Who is Ahab?' }
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class RunnableParallel<I, O extends Record<string, any>> extends Runnable<I, O> {
  readonly steps: { readonly [K in keyof O]: Runnable<I, O[K]> };

  constructor({ steps }: { steps: { [K in keyof O]: RunnableLike<I, O[K]> } }) {
    super();
    const out = {} as { [K in keyof O]: Runnable<I, O[K]> };
    for (const k of Object.keys(steps) as (keyof O)[]) out[k] = coerceToRunnable(steps[k]);
    this.steps = out;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  static from<I, O extends Record<string, any>>(steps: { [K in keyof O]: RunnableLike<I, O[K]> }): RunnableParallel<I, O> {
    return new RunnableParallel<I, O>({ steps });
  }

  protected override async _invoke(input: I, config: RunnableConfig, _run: RunContext): Promise<O> {
    const keys = Object.keys(this.steps) as (keyof O & string)[];
    const values = await mapConcurrent(keys, config.maxConcurrency, (k) => this.steps[k].invoke(input, config));
    return Object.fromEntries(keys.map((k, i) => [k, values[i]])) as O;
  }

  protected override async *_streamIterator(input: I, config: RunnableConfig, _run: RunContext): AsyncGenerator<O> {
    const sources = (Object.keys(this.steps) as (keyof O & string)[]).map((k): [string, AsyncGenerator<unknown>] => {
      const s = this.steps[k];
      // a cumulative step's chunks would not concatenate: it contributes its final value only
      return [k, s.cumulativeChunks ? lastOnly(s.stream(input, config)) : s.stream(input, config)];
    });
    for await (const [k, chunk] of mergeIterators(sources)) yield { [k]: chunk } as O;
  }

  protected override async *_transform(inputs: AsyncIterable<I>, config: RunnableConfig, run: RunContext): AsyncGenerator<O> {
    yield* this._streamIterator(await collectStream(inputs, `${this.getName()}.transform`), config, run);
  }
}

/** LangChain's other name for RunnableParallel. */
export const RunnableMap = RunnableParallel;
