import { describe, expect, it } from 'vitest';
import { AbortError, ChainsError, InputError } from '../errors.js';
import {
  Runnable,
  RunnableBranch,
  RunnableLambda,
  RunnableParallel,
  RunnablePassthrough,
  RunnableSequence,
  sleep,
  type CallbackHandler,
  type RunInfo,
  type RunnableConfig,
} from './index.js';

/** Streams its input string back one character at a time. */
class Spell extends Runnable<string, string> {
  protected override async _invoke(input: string): Promise<string> {
    return input;
  }
  protected override async *_streamIterator(input: string): AsyncGenerator<string> {
    for (const c of input) yield c;
  }
}

/** Records every hook call as [hook, run name, runId, parentRunId]. */
function recorder(): { handler: CallbackHandler; events: [string, string, string, string | undefined][] } {
  const events: [string, string, string, string | undefined][] = [];
  const rec = (hook: string) => (run: RunInfo) => void events.push([hook, run.name, run.runId, run.parentRunId]);
  const handler: CallbackHandler = { onChainStart: rec('start'), onChainEnd: rec('end'), onChainError: rec('error'), onRetry: rec('retry') };
  return { handler, events };
}

describe('composition', () => {
  it('pipes runnables, functions and object literals', async () => {
    const chain = RunnableLambda.from((x: number) => x + 1)
      .pipe((x) => x * 2)
      .pipe({ double: (x: number) => x * 2, str: (x: number) => `#${x}` });
    expect(await chain.invoke(1)).toEqual({ double: 8, str: '#4' });
    expect(chain).toBeInstanceOf(RunnableSequence);
    expect((chain as RunnableSequence<number, unknown>).steps).toHaveLength(3);
  });

  it('RunnableSequence.from and RunnablePassthrough.assign', async () => {
    const chain = RunnableSequence.from<{ text: string }, { text: string; n: number; upper: string }>([
      RunnablePassthrough.assign({ n: (x: { text: string }) => x.text.length }),
      RunnablePassthrough.assign({ upper: (x: { text: string }) => x.text.toUpperCase() }),
    ]);
    expect(await chain.invoke({ text: 'ahab' })).toEqual({ text: 'ahab', n: 4, upper: 'AHAB' });
    await expect(RunnablePassthrough.assign({ n: () => 1 }).invoke('nope' as never)).rejects.toThrow(/input must be an object, got string/);
  });

  it('RunnableBranch takes the first true condition, else the default', async () => {
    const route = RunnableBranch.from<number, string>([[(x) => x < 0, () => 'negative'], [(x) => x === 0, () => 'zero'], () => 'positive']);
    expect(await route.batch([-3, 0, 5])).toEqual(['negative', 'zero', 'positive']);
    expect(() => RunnableBranch.from([() => 'only a default'] as never)).toThrow(InputError);
  });

  it('a step that is neither runnable, function nor object is named in the error', () => {
    expect(() => RunnableSequence.from([(x: number) => x, 42 as never])).toThrow(/got number/);
  });
});

describe('batch', () => {
  it('keeps input order and never runs more than maxConcurrency at once', async () => {
    let inFlight = 0;
    let most = 0;
    const slow = RunnableLambda.from(async (x: number) => {
      most = Math.max(most, ++inFlight);
      await sleep(5 * (5 - x));
      inFlight--;
      return x * 10;
    });
    expect(await slow.batch([0, 1, 2, 3, 4], { maxConcurrency: 2 })).toEqual([0, 10, 20, 30, 40]);
    expect(most).toBe(2);
  });

  it('returnExceptions puts each failure in its slot', async () => {
    const r = RunnableLambda.from((x: number) => {
      if (x === 1) throw new Error('one is bad');
      return x;
    });
    const out = await r.batch([0, 1, 2], {}, { returnExceptions: true });
    expect(out[0]).toBe(0);
    expect((out[1] as Error).message).toBe('one is bad');
    expect(out[2]).toBe(2);
    await expect(r.batch([0, 1])).rejects.toThrow('one is bad');
  });
});

describe('stream', () => {
  it('a runnable that cannot stream yields its output once', async () => {
    const chunks: number[] = [];
    for await (const c of RunnableLambda.from((x: number) => x + 1).stream(1)) chunks.push(c);
    expect(chunks).toEqual([2]);
  });

  it('a sequence streams from its last steps that can', async () => {
    const chain = RunnableLambda.from((s: string) => s.toUpperCase()).pipe(new Spell()).pipe(new Spell());
    const chunks: string[] = [];
    for await (const c of chain.stream('moby')) chunks.push(c);
    expect(chunks).toEqual(['M', 'O', 'B', 'Y']);
  });

  it('a step after a streaming one that cannot stream gets the joined chunks', async () => {
    const chain = new Spell().pipe((s: string) => `[${s}]`);
    const chunks: string[] = [];
    for await (const c of chain.stream('ahab')) chunks.push(c);
    expect(chunks).toEqual(['[ahab]']);
  });

  it('RunnableParallel streams { key: chunk } from every branch', async () => {
    const par = RunnableParallel.from({ a: new Spell(), b: (s: string) => s.length });
    const chunks: Record<string, unknown>[] = [];
    for await (const c of par.stream('ab')) chunks.push(c);
    expect(chunks).toContainEqual({ a: 'a' });
    expect(chunks).toContainEqual({ a: 'b' });
    expect(chunks).toContainEqual({ b: 2 });
    expect(chunks).toHaveLength(3);
  });

  it('passthrough.assign streams the input, then the new keys', async () => {
    const chain = RunnablePassthrough.assign({ spelled: (x: { w: string }) => x.w }).pipe(RunnablePassthrough.assign({ spelled: (x: { spelled: string }) => `${x.spelled}!` }));
    const out: unknown[] = [];
    for await (const c of RunnablePassthrough.assign({ s: RunnableLambda.from((x: { w: string }) => x.w).pipe(new Spell()) }).stream({ w: 'hi' })) out.push(c);
    expect(out).toEqual([{ w: 'hi' }, { s: 'h' }, { s: 'i' }]);
    expect(await chain.invoke({ w: 'x' })).toEqual({ w: 'x', spelled: 'x!' });
    // a key the second assign overwrites is replaced, not concatenated, when the stream is joined
    const chunks: Record<string, string>[] = [];
    for await (const c of chain.stream({ w: 'x' })) chunks.push(c);
    expect(chunks).toEqual([{ w: 'x' }, { spelled: 'x!' }]);
  });
});

describe('bind, withConfig, withRetry, withFallbacks', () => {
  /** Returns the options it was called with. */
  class Echo extends Runnable<string, RunnableConfig & { stop?: string[] }, RunnableConfig & { stop?: string[] }> {
    protected override async _invoke(_input: string, config: RunnableConfig & { stop?: string[] }): Promise<RunnableConfig & { stop?: string[] }> {
      return config;
    }
  }

  it('bind fixes options under each call; call options win, tags accumulate', async () => {
    const bound = new Echo().bind({ stop: ['\n'], tags: ['a'] });
    expect((await bound.invoke('x')).stop).toEqual(['\n']);
    const got = await bound.invoke('x', { stop: ['.'], tags: ['b'] });
    expect(got.stop).toEqual(['.']);
    expect(got.tags).toEqual(['a', 'b']);
  });

  it('withConfig names the run and adds handlers', async () => {
    const { handler, events } = recorder();
    await RunnableLambda.from((x: number) => x).withConfig({ runName: 'identity', callbacks: [handler] }).invoke(1);
    expect(events.map(([h, n]) => `${h}:${n}`)).toEqual(['start:identity', 'end:identity']);
  });

  it('withRetry retries until success, reporting each failed attempt', async () => {
    let calls = 0;
    const flaky = RunnableLambda.from((x: number) => {
      if (++calls < 3) throw new Error(`fail ${calls}`);
      return x;
    });
    const { handler, events } = recorder();
    const seen: number[] = [];
    const r = flaky.withRetry({ stopAfterAttempt: 3, backoff: { initialMs: 1 }, onFailedAttempt: (_e, a) => void seen.push(a) });
    expect(await r.invoke(7, { callbacks: [handler] })).toBe(7);
    expect(calls).toBe(3);
    expect(seen).toEqual([1, 2]);
    expect(events.filter(([h]) => h === 'retry')).toHaveLength(2);
    calls = -10;
    await expect(flaky.withRetry({ stopAfterAttempt: 2, backoff: false }).invoke(1)).rejects.toThrow('fail -8');
  });

  it('withRetry does not retry an abort', async () => {
    let calls = 0;
    const r = RunnableLambda.from(async () => {
      calls++;
      await sleep(1000);
      return 1;
    }).withRetry({ stopAfterAttempt: 5, backoff: false });
    await expect(r.invoke(0, { signal: AbortSignal.timeout(20) })).rejects.toBeInstanceOf(AbortError);
    expect(calls).toBe(1);
  });

  it('withRetry retries a stream that fails before its first chunk', async () => {
    let calls = 0;
    class FlakyStream extends Spell {
      protected override async *_streamIterator(input: string): AsyncGenerator<string> {
        if (++calls === 1) throw new Error('not yet');
        yield* super._streamIterator(input);
      }
    }
    const out: string[] = [];
    for await (const c of new FlakyStream().withRetry({ backoff: false }).stream('ok')) out.push(c);
    expect(out).toEqual(['o', 'k']);
    expect(calls).toBe(2);
  });

  it('withFallbacks tries each in turn and throws the first error when all fail', async () => {
    const bad = (msg: string) => RunnableLambda.from((): string => {
      throw new ChainsError('bad', msg);
    });
    expect(await bad('one').withFallbacks([bad('two'), RunnableLambda.from((x: string) => `ok ${x}`)]).invoke('x')).toBe('ok x');
    await expect(bad('one').withFallbacks({ fallbacks: [bad('two')] }).invoke('x')).rejects.toThrow('bad: one');
    const picky = bad('one').withFallbacks({ fallbacks: [RunnableLambda.from(() => 'fine')], shouldFallback: (e) => !(e instanceof ChainsError) });
    await expect(picky.invoke('x')).rejects.toThrow('bad: one');
  });
});

describe('config, callbacks and abort', () => {
  it('handlers see the tree of runs: each step is a child of the sequence', async () => {
    const { handler, events } = recorder();
    const chain = RunnableSequence.from([RunnableLambda.from((x: number) => x + 1, 'inc'), { a: RunnableLambda.from((x: number) => x, 'id') }], 'chain');
    await chain.invoke(1, { callbacks: [handler], tags: ['t'] });
    const byName = Object.fromEntries(events.filter(([h]) => h === 'start').map(([, n, id, parent]) => [n, { id, parent }]));
    expect(byName.chain.parent).toBeUndefined();
    expect(byName.inc.parent).toBe(byName.chain.id);
    expect(byName.RunnableParallel.parent).toBe(byName.chain.id);
    expect(byName.id.parent).toBe(byName.RunnableParallel.id);
    expect(events.at(-1)?.[0]).toBe('end');
  });

  it('errors reach onChainError of the failing run and its parents', async () => {
    const { handler, events } = recorder();
    const chain = RunnableSequence.from([(x: number) => x, RunnableLambda.from((): number => {
      throw new Error('boom');
    }, 'boom')], 'chain');
    await expect(chain.invoke(1, { callbacks: [handler] })).rejects.toThrow('boom');
    expect(events.filter(([h]) => h === 'error').map(([, n]) => n)).toEqual(['boom', 'chain']);
  });

  it('stream runs report the joined output and the whole input at the end', async () => {
    const ends: [unknown, unknown][] = [];
    const handler: CallbackHandler = { onChainEnd: (run, output, { input }) => void (run.name === 'Spell' && ends.push([output, input])) };
    for await (const _ of new Spell().stream('abc', { callbacks: [handler] }));
    expect(ends).toEqual([['abc', 'abc']]);
  });

  it('a fired signal rejects at once with AbortError, also mid-stream', async () => {
    const slow = RunnableLambda.from(async () => {
      await sleep(5000);
      return 1;
    });
    const t0 = Date.now();
    await expect(slow.invoke(0, { signal: AbortSignal.timeout(30) })).rejects.toBeInstanceOf(AbortError);
    expect(Date.now() - t0).toBeLessThan(2000);
    const ac = new AbortController();
    ac.abort(new Error('user left'));
    await expect(slow.invoke(0, { signal: ac.signal })).rejects.toThrow(/aborted: user left/);

    class Slow extends Spell {
      protected override async *_streamIterator(input: string): AsyncGenerator<string> {
        for (const c of input) {
          await sleep(c === 'b' ? 5000 : 0);
          yield c;
        }
      }
    }
    const ac2 = new AbortController();
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const c of new Slow().stream('ab', { signal: ac2.signal })) {
          got.push(c);
          ac2.abort();
        }
      })(),
    ).rejects.toBeInstanceOf(AbortError);
    expect(got).toEqual(['a']);
  });

  it('nested calls get the config through the lambda', async () => {
    const inner = RunnableLambda.from((_x: number, config: RunnableConfig) => config.metadata?.user);
    const outer = RunnableLambda.from((x: number, config: RunnableConfig) => inner.invoke(x, config));
    expect(await outer.invoke(1, { metadata: { user: 'ishmael' } })).toBe('ishmael');
  });
});
