/** RunnableLambda: a function as a step. */
import { Runnable, type RunnableFunc } from './base.js';
import type { RunContext, RunnableConfig } from './config.js';

/**
 * A function as a runnable. It gets the input and the call's config; pass the config on to
 * runnables it calls so they join the same trace and abort signal.
 *
 *   const length = RunnableLambda.from((s: string) => s.length);
 *   const chain = RunnableLambda.from(async (q: string, config) => retriever.invoke(q, config));
 */
export class RunnableLambda<I, O> extends Runnable<I, O> {
  readonly func: RunnableFunc<I, O>;

  constructor({ func, name }: { func: RunnableFunc<I, O>; name?: string }) {
    super();
    this.func = func;
    this.name = name ?? (func.name || undefined);
  }

  static from<I, O>(func: RunnableFunc<I, O>, name?: string): RunnableLambda<I, O> {
    return new RunnableLambda({ func, name });
  }

  protected override async _invoke(input: I, config: RunnableConfig, _run: RunContext): Promise<O> {
    return this.func(input, config);
  }
}
