import { describe, expect, it } from 'vitest';
import { DLError, DispatchListenerError, ShapeError, addDispatchListener, isRecording, memory, ones, type DispatchArgs } from './index.js';
import { gradMode } from './internal.js';

describe('dispatch listeners', () => {
  it('see every op in order, with typed attrs, until removed', () => {
    const x = ones([2, 3]);
    const seen: string[] = [];
    const dims: number[][] = [];
    const remove = addDispatchListener((...args) => {
      const [op, , attrs, , custom] = args as DispatchArgs;
      seen.push(op);
      // built-in primitives come with their own attrs type
      if (custom === null && op === 'sum') dims.push(attrs.dims);
    });
    x.exp().sum(1).reshape([2, 1]);
    remove();
    x.exp();
    expect(seen).toEqual(['exp', 'sum', 'reshape']);
    expect(dims).toEqual([[1]]);
  });

  it('run side by side, in the order they were added, and are removed one by one', () => {
    const x = ones([2]);
    const log: string[] = [];
    const a = addDispatchListener((op) => void log.push(`a:${op}`));
    const b = addDispatchListener((op) => void log.push(`b:${op}`));
    x.neg();
    a();
    x.abs();
    b();
    b(); // removing twice is harmless
    x.exp();
    expect(log).toEqual(['a:neg', 'b:neg', 'b:abs']);
  });

  it('gradOnly listeners see only ops with an input that requires grad, while grad mode is on', () => {
    const x = ones([2]);
    const w = ones([2]).requiresGrad_();
    const seen: string[] = [];
    expect(isRecording()).toBe(false);
    const remove = addDispatchListener((op) => void seen.push(op), { gradOnly: true });
    expect(isRecording()).toBe(true);
    x.neg(); // nothing requires grad
    w.abs();
    gradMode.enabled = false;
    try {
      expect(isRecording()).toBe(false);
      w.exp();
    } finally {
      gradMode.enabled = true;
    }
    remove();
    expect(isRecording()).toBe(false);
    w.sqrt();
    expect(seen).toEqual(['abs']);
  });

  it("wraps a listener's exception with the op and the listener's name, and frees the op's output", () => {
    const x = ones([2]);
    const boom = new TypeError('boom');
    const remove = addDispatchListener(
      () => {
        throw boom;
      },
      { name: 'profiler' },
    );
    const before = memory().tensors;
    let err: unknown;
    try {
      x.neg();
    } catch (e) {
      err = e;
    }
    remove();
    expect(err).toBeInstanceOf(DispatchListenerError);
    expect(err).toBeInstanceOf(DLError);
    expect((err as Error).message).toBe("neg: dispatch listener 'profiler' threw TypeError: boom");
    expect((err as Error).cause).toBe(boom);
    expect(memory().tensors).toBe(before);
    expect(x.neg().toArray()).toEqual([-1, -1]);
  });

  it("lets @dl's typed errors through unchanged, and skips the listeners after the one that threw", () => {
    const x = ones([2]);
    const typed = new ShapeError('myCheck', 'bad shape [2]');
    const after: string[] = [];
    const r1 = addDispatchListener(() => {
      throw typed;
    });
    const r2 = addDispatchListener((op) => void after.push(op));
    expect(() => x.exp()).toThrow(typed);
    r1();
    r2();
    expect(after).toEqual([]);
  });
});
