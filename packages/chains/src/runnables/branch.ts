/** RunnableBranch: the first branch whose condition holds. */
import { InputError } from '../errors.js';
import { Runnable, type RunnableLike } from './base.js';
import { coerceToRunnable } from './coerce.js';
import type { RunContext, RunnableConfig } from './config.js';

/**
 * Tests each condition in order on the input and runs the branch of the first that is true, or
 * the default. Conditions are functions or runnables giving booleans.
 *
 *   const route = RunnableBranch.from([
 *     [(x: { topic: string }) => x.topic === 'math', mathChain],
 *     [(x: { topic: string }) => x.topic === 'whales', whaleChain],
 *     generalChain,
 *   ]);
 */
export class RunnableBranch<I, O> extends Runnable<I, O> {
  readonly branches: readonly [Runnable<I, boolean>, Runnable<I, O>][];
  readonly default: Runnable<I, O>;

  constructor({ branches, default: fallback }: { branches: readonly [RunnableLike<I, boolean>, RunnableLike<I, O>][]; default: RunnableLike<I, O> }) {
    super();
    this.branches = branches.map(([c, r]) => [coerceToRunnable(c), coerceToRunnable(r)]);
    this.default = coerceToRunnable(fallback);
  }

  /** [[condition, branch], ..., default] */
  static from<I, O>(branches: readonly [...[RunnableLike<I, boolean>, RunnableLike<I, O>][], RunnableLike<I, O>]): RunnableBranch<I, O> {
    if (branches.length < 2) throw new InputError('RunnableBranch.from', `needs at least one [condition, branch] pair and a default, got ${branches.length} entries`);
    const pairs = branches.slice(0, -1) as [RunnableLike<I, boolean>, RunnableLike<I, O>][];
    pairs.forEach((p, i) => {
      if (!Array.isArray(p) || p.length !== 2) throw new InputError('RunnableBranch.from', `entry ${i} must be a [condition, branch] pair`);
    });
    return new RunnableBranch({ branches: pairs, default: branches[branches.length - 1] as RunnableLike<I, O> });
  }

  async #choose(input: I, config: RunnableConfig): Promise<Runnable<I, O>> {
    for (const [i, [cond, branch]] of this.branches.entries()) {
      if (await cond.invoke(input, { ...config, tags: [...(config.tags ?? []), `condition:${i + 1}`] })) return branch;
    }
    return this.default;
  }

  protected override async _invoke(input: I, config: RunnableConfig, _run: RunContext): Promise<O> {
    return (await this.#choose(input, config)).invoke(input, config);
  }

  protected override async *_streamIterator(input: I, config: RunnableConfig, _run: RunContext): AsyncGenerator<O> {
    yield* (await this.#choose(input, config)).stream(input, config);
  }
}
