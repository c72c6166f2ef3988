/** withFallbacks: other runnables to try when one fails. */
import { AbortError } from '../errors.js';
import { Runnable, registerRunnableParts } from './base.js';
import type { RunContext, RunnableConfig } from './config.js';

export interface FallbackOptions<I, O> {
  /** tried in order after the main runnable fails */
  fallbacks: readonly Runnable<I, O>[];
  /** which errors move on to the next fallback (default: all but AbortError) */
  shouldFallback?: (error: unknown) => boolean;
}

/**
 * `runnable`, and when it fails, each fallback in turn on the same input. If all fail, the first
 * error is thrown (its `cause` chain is kept). A stream moves to the next only if it failed
 * before its first chunk.
 *
 *   const model = remote.withFallbacks([local]); // the local model answers when the server is down
 */
export class RunnableWithFallbacks<I, O, C extends RunnableConfig = RunnableConfig> extends Runnable<I, O, C> {
  readonly fallbacks: readonly Runnable<I, O>[];

  constructor(
    readonly runnable: Runnable<I, O, C>,
    readonly options: FallbackOptions<I, O>,
  ) {
    super();
    this.fallbacks = options.fallbacks;
  }

  override get cumulativeChunks(): boolean {
    return this.runnable.cumulativeChunks;
  }

  #candidates(): Runnable<I, O>[] {
    return [this.runnable as Runnable<I, O>, ...this.fallbacks];
  }

  #canFallBack(e: unknown): boolean {
    return !(e instanceof AbortError) && (this.options.shouldFallback?.(e) ?? true);
  }

  protected override async _invoke(input: I, config: C, _run: RunContext): Promise<O> {
    let first: unknown;
    for (const r of this.#candidates()) {
      try {
        return await r.invoke(input, config);
      } catch (e) {
        first ??= e;
        if (!this.#canFallBack(e)) throw e;
      }
    }
    throw first;
  }

  protected override async *_streamIterator(input: I, config: C, _run: RunContext): AsyncGenerator<O> {
    let first: unknown;
    for (const r of this.#candidates()) {
      let yielded = false;
      try {
        for await (const chunk of r.stream(input, config)) {
          yielded = true;
          yield chunk;
        }
        return;
      } catch (e) {
        first ??= e;
        if (yielded || !this.#canFallBack(e)) throw e;
      }
    }
    throw first;
  }
}

registerRunnableParts({ RunnableWithFallbacks });
