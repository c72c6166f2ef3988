/** Turning functions and object literals into runnables. */
import { InputError } from '../errors.js';
import { Runnable, registerRunnableParts, type RunnableLike } from './base.js';
import { RunnableLambda } from './lambda.js';
import { RunnableParallel } from './parallel.js';

/**
 * A Runnable as it is, a function as a RunnableLambda, an object literal as a RunnableParallel.
 *
 *   coerceToRunnable((x: number) => x + 1).invoke(1); // 2
 *   coerceToRunnable({ a: (x: number) => x, b: (x: number) => -x }).invoke(1); // { a: 1, b: -1 }
 */
export function coerceToRunnable<I, O>(x: RunnableLike<I, O>): Runnable<I, O> {
  if (Runnable.isRunnable(x)) return x as Runnable<I, O>;
  if (typeof x === 'function') return new RunnableLambda<I, O>({ func: x as (input: I) => O });
  if (typeof x === 'object' && x !== null && !Array.isArray(x)) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return new RunnableParallel<I, any>({ steps: x as Record<string, RunnableLike<I>> }) as Runnable<I, O>;
  }
  throw new InputError('coerceToRunnable', `a step must be a Runnable, a function or an object of them, got ${Array.isArray(x) ? 'an array' : x === null ? 'null' : typeof x}`);
}

registerRunnableParts({ coerceToRunnable });
