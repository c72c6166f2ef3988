/** RunnableSequence: steps run one after another, each on the output of the one before. */
import { InputError } from '../errors.js';
import { Runnable, registerRunnableParts, type RunnableLike } from './base.js';
import { coerceToRunnable } from './coerce.js';
import type { RunContext, RunnableConfig } from './config.js';

/**
 * Runs its steps in order, the output of each the input of the next (what `a.pipe(b)` makes).
 * Its stream passes chunks through every step's transform, so the steps from the last one that
 * cannot stream onwards stream (prompt | model | parser streams the model's tokens as parsed
 * chunks).
 *
 *   const chain = RunnableSequence.from([prompt, model, new StringOutputParser()]);
 *   const chain2 = RunnableSequence.from([{ context: retriever, question: (q: string) => q }, prompt, model]);
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class RunnableSequence<I, O> extends Runnable<I, O> {
  readonly steps: readonly Runnable[];

  constructor(steps: readonly Runnable[], name?: string) {
    super();
    if (steps.length === 0) throw new InputError('RunnableSequence', 'a sequence needs at least one step');
    // nested unnamed sequences are flattened, so a.pipe(b).pipe(c) is one sequence of three
    this.steps = steps.flatMap((s) => (s instanceof RunnableSequence && s.name === undefined ? s.steps : [s]));
    this.name = name;
  }

  /**
   * A sequence of steps (functions and object literals are coerced).
   *
   *   RunnableSequence.from([(x: number) => x + 1, (x: number) => x * 2]).invoke(1); // 4
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  static from<I, O>(steps: readonly [RunnableLike<I>, ...RunnableLike[]] | readonly RunnableLike[], name?: string): RunnableSequence<I, O> {
    return new RunnableSequence<I, O>(steps.map((s) => coerceToRunnable(s)), name);
  }

  get first(): Runnable {
    return this.steps[0];
  }

  get last(): Runnable {
    return this.steps[this.steps.length - 1];
  }

  override get cumulativeChunks(): boolean {
    return this.last.cumulativeChunks;
  }

  protected override async _invoke(input: I, config: RunnableConfig, _run: RunContext): Promise<O> {
    let x: unknown = input;
    for (const [i, step] of this.steps.entries()) x = await step.invoke(x, { ...config, tags: [...(config.tags ?? []), `seq:step:${i + 1}`] });
    return x as O;
  }

  protected override async *_streamIterator(input: I, config: RunnableConfig, run: RunContext): AsyncGenerator<O> {
    yield* this._transform((async function* () {
      yield input;
    })(), config, run);
  }

  protected override async *_transform(inputs: AsyncIterable<I>, config: RunnableConfig, _run: RunContext): AsyncGenerator<O> {
    let stream: AsyncIterable<unknown> = inputs;
    for (const [i, step] of this.steps.entries()) stream = step.transform(stream, { ...config, tags: [...(config.tags ?? []), `seq:step:${i + 1}`] });
    yield* stream as AsyncIterable<O>;
  }
}

registerRunnableParts({ RunnableSequence });
