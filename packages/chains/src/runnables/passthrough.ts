/** RunnablePassthrough: the input unchanged, or with keys added (`assign`). */
import { InputError } from '../errors.js';
import { Runnable, collectStream, isCumulativeStream, type RunnableLike } from './base.js';
import type { RunContext, RunnableConfig } from './config.js';
import { concat } from './utils.js';
import { RunnableParallel } from './parallel.js';

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Passes its input on unchanged (streams pass through chunk by chunk); `func`, if given, sees the
 * input on the way.
 *
 *   RunnableParallel.from({ question: new RunnablePassthrough(), context: retriever });
 *   RunnablePassthrough.assign({ length: (x: { text: string }) => x.text.length });
 */
export class RunnablePassthrough<T> extends Runnable<T, T> {
  readonly func?: (input: T, config: RunnableConfig) => unknown;

  constructor(fields: { func?: (input: T, config: RunnableConfig) => unknown } = {}) {
    super();
    this.func = fields.func;
  }

  protected override async _invoke(input: T, config: RunnableConfig, _run: RunContext): Promise<T> {
    await this.func?.(input, config);
    return input;
  }

  protected override async *_transform(inputs: AsyncIterable<T>, config: RunnableConfig, _run: RunContext): AsyncGenerator<T> {
    if (!this.func) {
      yield* inputs;
      return;
    }
    const all = await collectStream(inputs, 'RunnablePassthrough.transform');
    await this.func(all, config);
    yield all;
  }

  /**
   * The input object with more keys, each computed from it (the mapping runs as a
   * RunnableParallel).
   *
   *   const chain = RunnablePassthrough.assign({ context: (x: { question: string }) => retrieve(x.question) });
   *   await chain.invoke({ question: 'q' }); // { question: 'q', context: ... }
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  static assign<I extends Record<string, any>, A extends Record<string, any>>(mapping: { [K in keyof A]: RunnableLike<I, A[K]> }): RunnableAssign<I, A> {
    return new RunnableAssign<I, A>(RunnableParallel.from<I, A>(mapping));
  }
}

/**
 * `{ ...input, ...mapper(input) }` for an object input. Its stream yields the input first, then
 * the mapper's chunks.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class RunnableAssign<I extends Record<string, any>, A extends Record<string, any>> extends Runnable<I, I & A> {
  constructor(readonly mapper: RunnableParallel<I, A>) {
    super();
  }

  #check(input: unknown): I {
    if (!isPlainObject(input)) throw new InputError('RunnablePassthrough.assign', `the input must be an object, got ${Array.isArray(input) ? 'an array' : typeof input}`);
    return input as I;
  }

  protected override async _invoke(input: I, config: RunnableConfig, _run: RunContext): Promise<I & A> {
    return { ...this.#check(input), ...(await this.mapper.invoke(input, config)) };
  }

  /** The input without the keys the mapper writes (so joining the chunks replaces those keys). */
  #passed(input: Record<string, unknown>): I & A {
    const keys = new Set(Object.keys(this.mapper.steps));
    return Object.fromEntries(Object.entries(input).filter(([k]) => !keys.has(k))) as I & A;
  }

  protected override async *_streamIterator(input: I, config: RunnableConfig, _run: RunContext): AsyncGenerator<I & A> {
    yield this.#passed(this.#check(input));
    for await (const chunk of this.mapper.stream(input, config)) yield chunk as I & A;
  }

  /** Input chunks pass through as they come; the mapper runs on the whole input after. */
  protected override async *_transform(inputs: AsyncIterable<I>, config: RunnableConfig, run: RunContext): AsyncGenerator<I & A> {
    if (isCumulativeStream(inputs)) {
      yield* this._streamIterator(await collectStream(inputs, 'RunnablePassthrough.assign'), config, run);
      return;
    }
    let all: I | undefined;
    for await (const chunk of inputs) {
      all = all === undefined ? this.#check(chunk) : concat<I>(all, this.#check(chunk));
      const passed = this.#passed(chunk);
      if (Object.keys(passed).length) yield passed;
    }
    if (all === undefined) throw new InputError('RunnablePassthrough.assign', 'the input stream ended without a chunk');
    for await (const chunk of this.mapper.stream(all, config)) yield chunk as I & A;
  }
}
