/**
 * Runnable: the unit of composition. Anything that takes an input and gives an output (a prompt,
 * a model, a parser, a function, a chain of them) is a Runnable with the same methods: invoke,
 * batch, stream, transform, and the combinators pipe / bind / withConfig / withRetry /
 * withFallbacks.
 */
import { ChainsError, InputError } from '../errors.js';
import { RunContext, type RunnableConfig, type RunType } from './config.js';
import { concat, mapConcurrent, raceAbort, throwIfAborted } from './utils.js';
import type { RunnableBinding } from './binding.js';
import type { RunnableRetry, RetryOptions } from './retry.js';
import type { RunnableWithFallbacks, FallbackOptions } from './fallbacks.js';
import type { RunnableSequence } from './sequence.js';
import type { coerceToRunnable } from './coerce.js';

/** A function as a step: gets the input and the call's config (to pass to nested calls). */
export type RunnableFunc<I, O> = (input: I, config: RunnableConfig) => O | Promise<O>;
/** An object literal as a step: each key's runnable gets the same input (a RunnableParallel). */
export type RunnableMapLike<I, O> = { [K in keyof O]: RunnableLike<I, O[K]> };
/** What pipe, RunnableSequence.from and RunnableParallel accept as a step. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RunnableLike<I = any, O = any> = Runnable<I, O> | RunnableFunc<I, O> | RunnableMapLike<I, O>;

export interface BatchOptions {
  /** false: the first failure rejects the batch; true: a failed input's slot holds its Error */
  returnExceptions?: boolean;
}

/**
 * The combinators' classes extend Runnable, so this module cannot import them (the cycle would
 * evaluate a subclass before its base class): each registers itself here as its module loads,
 * and runnables/index.ts, which every other module imports from, loads them all.
 */
interface Registry {
  RunnableSequence: typeof RunnableSequence;
  RunnableBinding: typeof RunnableBinding;
  RunnableRetry: typeof RunnableRetry;
  RunnableWithFallbacks: typeof RunnableWithFallbacks;
  coerceToRunnable: typeof coerceToRunnable;
}
const registry: Partial<Registry> = {};

/** Called once by each combinator's module. */
export function registerRunnableParts(parts: Partial<Registry>): void {
  Object.assign(registry, parts);
}

function part<K extends keyof Registry>(key: K): Registry[K] {
  const p = registry[key];
  if (!p) throw new ChainsError('Runnable', `${key} is not loaded: import from '@dl/chains' (or runnables/index.ts), not runnables/base.ts`);
  return p;
}

/** Streams whose chunks are each the whole output so far (JsonOutputParser's partial objects). */
const cumulativeStreams = new WeakSet<object>();

/** True for a stream whose chunks are each the whole value so far. */
export function isCumulativeStream(stream: AsyncIterable<unknown>): boolean {
  return cumulativeStreams.has(stream);
}

/**
 * All of a stream's input as one value: chunks joined with `concat`, or the last chunk when the
 * stream is cumulative.
 */
export async function collectStream<T>(inputs: AsyncIterable<T>, op = 'Runnable.transform'): Promise<T> {
  const cumulative = cumulativeStreams.has(inputs);
  let out: T | undefined;
  let any = false;
  for await (const c of inputs) {
    out = any && !cumulative ? concat(out as T, c) : c;
    any = true;
  }
  if (!any) throw new InputError(op, 'the input stream ended without a chunk');
  return out as T;
}

/**
 * A unit of work with one interface. Subclasses implement `_invoke`, and `_streamIterator` /
 * `_transform` when they can stream; the public methods add tracing callbacks, abort signals and
 * per-call config.
 *
 *   const chain = prompt.pipe(model).pipe(new StringOutputParser());
 *   await chain.invoke({ topic: 'whales' });
 *   for await (const piece of chain.stream({ topic: 'whales' })) process.stdout.write(piece);
 *   await chain.batch([{ topic: 'a' }, { topic: 'b' }], { maxConcurrency: 2 });
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export abstract class Runnable<I = any, O = any, C extends RunnableConfig = RunnableConfig> {
  /** the name handlers see (default: the class name) */
  name?: string;
  /** which callback hooks report this runnable's runs */
  protected runType: RunType = 'chain';

  /** The work of one call; `config` is the config for nested calls (this run is their parent). */
  protected abstract _invoke(input: I, config: C, run: RunContext): Promise<O>;

  /** Streams one input's output; by default one chunk, the result of _invoke. */
  protected async *_streamIterator(input: I, config: C, run: RunContext): AsyncGenerator<O> {
    yield await this._invoke(input, config, run);
  }

  /** Streams output from streamed input; by default waits for the whole input, then streams. */
  protected async *_transform(inputs: AsyncIterable<I>, config: C, run: RunContext): AsyncGenerator<O> {
    yield* this._streamIterator(await collectStream(inputs, `${this.getName()}.transform`), config, run);
  }

  /** What handlers' start hooks get for an input (chat models report messages). */
  protected traceInput(input: I): unknown {
    return input;
  }

  /**
   * true when each stream chunk is the whole output so far (as JsonOutputParser's partial
   * objects) rather than a piece to concatenate.
   */
  get cumulativeChunks(): boolean {
    return false;
  }

  getName(): string {
    return this.name ?? this.constructor.name;
  }

  /**
   * Runs on one input.
   *
   *   await chain.invoke({ question: 'Who is Ahab?' }, { signal: AbortSignal.timeout(10_000) });
   */
  async invoke(input: I, options?: Partial<C>): Promise<O> {
    const config = (options ?? {}) as C;
    const op = this.getName();
    throwIfAborted(config.signal, op);
    const run = new RunContext(op, this.runType, config);
    await run.start(this.traceInput(input));
    let out: O;
    try {
      out = await raceAbort(this._invoke(input, run.child(config), run), config.signal, op);
    } catch (e) {
      await run.error(e);
      throw e;
    }
    await run.end(out, input);
    return out;
  }

  /**
   * Runs on many inputs, at most `maxConcurrency` (of the first config) at once; outputs in
   * input order. `options` is one config for all or one per input.
   *
   *   await chain.batch(questions, { maxConcurrency: 4 });
   *   await chain.batch(inputs, {}, { returnExceptions: true }); // (O | Error)[]
   */
  batch(inputs: readonly I[], options?: Partial<C> | readonly Partial<C>[], batchOptions?: BatchOptions & { returnExceptions?: false }): Promise<O[]>;
  batch(inputs: readonly I[], options: Partial<C> | readonly Partial<C>[] | undefined, batchOptions: BatchOptions & { returnExceptions: true }): Promise<(O | Error)[]>;
  async batch(inputs: readonly I[], options?: Partial<C> | readonly Partial<C>[], batchOptions: BatchOptions = {}): Promise<(O | Error)[]> {
    const configs: readonly Partial<C>[] = Array.isArray(options) ? options : inputs.map(() => (options ?? {}) as Partial<C>);
    if (configs.length !== inputs.length) throw new InputError(`${this.getName()}.batch`, `got ${inputs.length} inputs but ${configs.length} configs`);
    return mapConcurrent(inputs, configs[0]?.maxConcurrency, async (input, i) => {
      try {
        return await this.invoke(input, configs[i]);
      } catch (e) {
        if (batchOptions.returnExceptions) return e instanceof Error ? e : new ChainsError(this.getName(), String(e));
        throw e;
      }
    });
  }

  /**
   * Runs on one input and yields the output in chunks as they are made (tokens of a model, pieces
   * of a parser's output). A runnable that cannot stream yields its whole output once; a sequence
   * streams from its last steps that can.
   *
   *   for await (const chunk of chain.stream(input)) process.stdout.write(chunk);
   */
  stream(input: I, options?: Partial<C>): AsyncGenerator<O> {
    const config = (options ?? {}) as C;
    return this.#mark(this.#runStream(config, input, () => input, (child, run) => this._streamIterator(input, child, run)));
  }

  /**
   * Like stream, with the input itself a stream of chunks (the output of the step before).
   *
   *   for await (const c of new StringOutputParser().transform(model.stream('hi'))) console.log(c);
   */
  transform(inputs: AsyncIterable<I>, options?: Partial<C>): AsyncGenerator<O> {
    const config = (options ?? {}) as C;
    const cumulative = cumulativeStreams.has(inputs);
    let seen: I | undefined;
    const tapped = (async function* (): AsyncGenerator<I> {
      for await (const c of inputs) {
        seen = seen === undefined || cumulative ? c : concat<I>(seen, c);
        yield c;
      }
    })();
    if (cumulative) cumulativeStreams.add(tapped);
    return this.#mark(this.#runStream(config, undefined, () => seen, (child, run) => this._transform(tapped, child, run)));
  }

  #mark(gen: AsyncGenerator<O>): AsyncGenerator<O> {
    if (this.cumulativeChunks) cumulativeStreams.add(gen);
    return gen;
  }

  async *#runStream(config: C, startInput: unknown, wholeInput: () => unknown, make: (child: C, run: RunContext) => AsyncGenerator<O>): AsyncGenerator<O> {
    const op = this.getName();
    throwIfAborted(config.signal, op);
    const run = new RunContext(op, this.runType, config);
    await run.start(startInput === undefined ? undefined : this.traceInput(startInput as I));
    const inner = make(run.child(config), run);
    let output: O | undefined;
    let state: 'running' | 'done' | 'failed' = 'running';
    try {
      for (;;) {
        const r = await raceAbort(inner.next(), config.signal, op);
        if (r.done) break;
        output = output === undefined || this.cumulativeChunks ? r.value : concat(output, r.value);
        yield r.value;
      }
      state = 'done';
    } catch (e) {
      state = 'failed';
      await run.error(e);
      throw e;
    } finally {
      // the consumer stopped early, or the signal fired: close the inner stream
      if (state !== 'done') inner.return(undefined).catch(() => {});
      if (state !== 'failed') await run.end(output, wholeInput());
    }
  }

  /**
   * This runnable, then `next` on its output: a RunnableSequence. Functions and object literals
   * are coerced (RunnableLambda, RunnableParallel).
   *
   *   const chain = prompt.pipe(model).pipe((msg) => msg.content.trim());
   */
  pipe<N>(next: RunnableLike<O, N>): Runnable<I, N> {
    const Sequence = part('RunnableSequence');
    return new Sequence<I, N>([this, part('coerceToRunnable')(next)]);
  }

  /**
   * This runnable with call options fixed (a chat model's stop words, tools, temperature); the
   * options of each call are merged over them.
   *
   *   const terse = model.bind({ stop: ['\n'] });
   */
  bind(kwargs: Partial<C>): Runnable<I, O, C> {
    return new (part('RunnableBinding'))<I, O, C>(this, kwargs);
  }

  /**
   * This runnable with config fixed (tags, metadata, callbacks, runName, maxConcurrency, ...).
   *
   *   const traced = chain.withConfig({ runName: 'qa', callbacks: [tracer] });
   */
  withConfig(config: Partial<C>): Runnable<I, O, C> {
    return new (part('RunnableBinding'))<I, O, C>(this, config);
  }

  /**
   * This runnable, retried on failure (not on abort): `stopAfterAttempt` attempts in all, waiting
   * with exponential backoff between them.
   *
   *   const sturdy = model.withRetry({ stopAfterAttempt: 3, backoff: { initialMs: 200 } });
   */
  withRetry(options: RetryOptions = {}): Runnable<I, O, C> {
    return new (part('RunnableRetry'))<I, O, C>(this, options);
  }

  /**
   * This runnable, and when it fails, each fallback in turn on the same input; the first error
   * is thrown if all fail.
   *
   *   const robust = remote.withFallbacks([local]);
   */
  withFallbacks(fallbacks: readonly Runnable<I, O>[] | FallbackOptions<I, O>): Runnable<I, O, C> {
    const opts = Array.isArray(fallbacks) ? { fallbacks } : (fallbacks as FallbackOptions<I, O>);
    return new (part('RunnableWithFallbacks'))<I, O, C>(this, opts);
  }

  /** True for Runnables (also across copies of this package). */
  static isRunnable(x: unknown): x is Runnable {
    return x instanceof Runnable || (typeof x === 'object' && x !== null && typeof (x as Runnable).invoke === 'function' && typeof (x as Runnable).pipe === 'function' && typeof (x as Runnable).batch === 'function');
  }
}
