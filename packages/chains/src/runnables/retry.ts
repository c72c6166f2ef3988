/** withRetry: attempts again after a failure, with exponential backoff. */
import { AbortError, ChainsError } from '../errors.js';
import { Runnable, registerRunnableParts } from './base.js';
import type { RunContext, RunnableConfig } from './config.js';
import { sleep } from './utils.js';

export interface BackoffOptions {
  /** 1000: wait before the second attempt, in ms */
  initialMs?: number;
  /** 2: each wait is this many times the one before */
  factor?: number;
  /** 30000: no wait is longer */
  maxMs?: number;
  /** false: true waits a uniform random fraction (0.5 to 1) of each delay, so clients spread out */
  jitter?: boolean;
}

export interface RetryOptions {
  /** 3: attempts in all, the first included */
  stopAfterAttempt?: number;
  /** waits between attempts (false: none) */
  backoff?: BackoffOptions | false;
  /** which errors are retried (default: all but AbortError) */
  retryIf?: (error: unknown) => boolean;
  /** called after each failed attempt that will be retried */
  onFailedAttempt?: (error: unknown, attempt: number) => void | Promise<void>;
}

/** The wait in ms after failed attempt `attempt` (1-based). */
export function backoffDelay(attempt: number, { initialMs = 1000, factor = 2, maxMs = 30_000, jitter = false }: BackoffOptions = {}): number {
  const d = Math.min(maxMs, initialMs * factor ** (attempt - 1));
  return jitter ? d * (0.5 + Math.random() / 2) : d;
}

/**
 * `bound`, retried: an input that fails is run again, up to `stopAfterAttempt` attempts. A stream
 * is retried only if it failed before its first chunk (what was yielded cannot be taken back).
 *
 *   const sturdy = flaky.withRetry({ stopAfterAttempt: 5, backoff: { initialMs: 100, factor: 2 } });
 */
export class RunnableRetry<I, O, C extends RunnableConfig = RunnableConfig> extends Runnable<I, O, C> {
  readonly stopAfterAttempt: number;

  constructor(
    readonly bound: Runnable<I, O, C>,
    readonly options: RetryOptions = {},
  ) {
    super();
    this.stopAfterAttempt = options.stopAfterAttempt ?? 3;
    if (!(Number.isInteger(this.stopAfterAttempt) && this.stopAfterAttempt >= 1)) {
      throw new ChainsError('withRetry', `stopAfterAttempt must be an integer >= 1, got ${options.stopAfterAttempt}`);
    }
  }

  override get cumulativeChunks(): boolean {
    return this.bound.cumulativeChunks;
  }

  /** Throws `error` unless it may be retried after `attempt`; otherwise reports it and waits. */
  async #afterFailure(error: unknown, attempt: number, config: C, run: RunContext): Promise<void> {
    const retryable = !(error instanceof AbortError) && (this.options.retryIf?.(error) ?? true);
    if (!retryable || attempt >= this.stopAfterAttempt) throw error;
    await run.emit('onRetry', error, attempt);
    await this.options.onFailedAttempt?.(error, attempt);
    if (this.options.backoff !== false) await sleep(backoffDelay(attempt, this.options.backoff), config.signal, `${this.getName()} (waiting to retry)`);
  }

  protected override async _invoke(input: I, config: C, run: RunContext): Promise<O> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.bound.invoke(input, config);
      } catch (e) {
        await this.#afterFailure(e, attempt, config, run);
      }
    }
  }

  protected override async *_streamIterator(input: I, config: C, run: RunContext): AsyncGenerator<O> {
    for (let attempt = 1; ; attempt++) {
      let yielded = false;
      try {
        for await (const chunk of this.bound.stream(input, config)) {
          yielded = true;
          yield chunk;
        }
        return;
      } catch (e) {
        if (yielded) throw e;
        await this.#afterFailure(e, attempt, config, run);
      }
    }
  }
}

registerRunnableParts({ RunnableRetry });
