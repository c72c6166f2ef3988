/** bind / withConfig: a runnable with call options fixed, transparent to tracing. */
import { Runnable, registerRunnableParts } from './base.js';
import { mergeConfigs, type RunContext, type RunnableConfig } from './config.js';

/**
 * `bound` with `kwargs` merged under every call's options (tags, callbacks and metadata
 * accumulate; other options of the call win). Adds no run of its own.
 *
 *   const model2 = model.bind({ stop: ['\n\n'], temperature: 0 });
 */
export class RunnableBinding<I, O, C extends RunnableConfig = RunnableConfig> extends Runnable<I, O, C> {
  constructor(
    readonly bound: Runnable<I, O, C>,
    readonly kwargs: Partial<C>,
  ) {
    super();
  }

  override getName(): string {
    return this.name ?? this.bound.getName();
  }

  override get cumulativeChunks(): boolean {
    return this.bound.cumulativeChunks;
  }

  protected override _invoke(input: I, config: C, _run: RunContext): Promise<O> {
    return this.bound.invoke(input, config);
  }

  #options(options?: Partial<C>): Partial<C> {
    return mergeConfigs<C>(this.kwargs, options);
  }

  override invoke(input: I, options?: Partial<C>): Promise<O> {
    return this.bound.invoke(input, this.#options(options));
  }

  override stream(input: I, options?: Partial<C>): AsyncGenerator<O> {
    return this.bound.stream(input, this.#options(options));
  }

  override transform(inputs: AsyncIterable<I>, options?: Partial<C>): AsyncGenerator<O> {
    return this.bound.transform(inputs, this.#options(options));
  }

  override bind(kwargs: Partial<C>): Runnable<I, O, C> {
    return new RunnableBinding(this.bound, this.#options(kwargs));
  }

  override withConfig(config: Partial<C>): Runnable<I, O, C> {
    return new RunnableBinding(this.bound, this.#options(config));
  }
}

registerRunnableParts({ RunnableBinding });
