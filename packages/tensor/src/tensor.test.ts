import { describe, expect, it } from 'vitest';
import { cpuBackend } from './cpu/backend.js';
import { Storage, created, keep, memory, scope } from './memory.js';
import { ones, tensor } from './ops/index.js';
import { registerBackend } from './backend.js';
import { DeviceError } from './errors.js';
import { hooks, replaceStorage } from './tensor.js';

describe('replaceStorage', () => {
  it('moves a tensor to new storage in place: same object and layout, device stats follow, version goes up', () => {
    const base = tensor([[1, 2, 3], [4, 5, 6]]);
    const t = base.transpose(0, 1).narrow(0, 1, 2); // [[2, 5], [3, 6]], strides [1, 3], offset 1
    const earlier = t.reshape([4]); // a copy (t is not contiguous), unaffected
    const view = t.detach(); // an earlier view keeps the old storage
    const before = memory().devices;
    const v0 = t.version;
    const cpu3 = { ...cpuBackend, name: 'cpu3' }; // a second device with the CPU's kernels
    const fresh = new Storage(cpu3, Float32Array.from([1, 2, 3, 4, 5, 6]), 'float32');
    replaceStorage(t, fresh);
    fresh.release(); // t holds the only reference now
    expect(t.device).toBe('cpu3');
    expect(t.strides).toEqual([1, 3]);
    expect(t.offset).toBe(1);
    expect(t.toArray()).toEqual([[2, 5], [3, 6]]);
    expect(t.version).toBeGreaterThan(v0);
    expect(fresh.refs).toBe(1);
    expect(memory().devices.cpu3.tensors).toBe((before.cpu3?.tensors ?? 0) + 1);
    expect(memory().devices.cpu.tensors).toBe(before.cpu.tensors - 1);
    expect(view.device).toBe('cpu');
    expect(view.storage).toBe(base.storage);
    expect(earlier.toArray()).toEqual([2, 5, 3, 6]);
    t.dispose();
    expect(fresh.refs).toBe(0);
    expect(memory().devices.cpu3.tensors).toBe(before.cpu3?.tensors ?? 0);
  });
});

describe('gradFn references', () => {
  it('a tensor retains its gradFn when given one and releases it once: replaced, disposed', () => {
    const log: string[] = [];
    const prev = { retain: hooks.retainGradFn, release: hooks.releaseGradFn };
    hooks.retainGradFn = (fn) => void log.push(`+${String(fn)}`);
    hooks.releaseGradFn = (fn) => void log.push(`-${String(fn)}`);
    try {
      const t = tensor([1]);
      t.gradFn = 'a';
      t.gradFn = 'a'; // unchanged: not counted again
      t.gradFn = 'b';
      t.dispose();
      t.dispose();
      t.gradFn = null; // after dispose nothing is held
      expect(log).toEqual(['+a', '+b', '-a', '-b']);
    } finally {
      hooks.retainGradFn = prev.retain;
      hooks.releaseGradFn = prev.release;
    }
  });
});

describe('in-place ops', () => {
  it('free their temporaries at once, inside a scope or not', () => {
    const x = keep(tensor([1, 2, 3]));
    const one = tensor([1, 1, 1]);
    const before = memory();
    x.add_(1).sub_(one, 2).mul_(2).div_(4).add_(x, 0.5);
    expect(memory()).toEqual(before);
    expect(x.toArray()).toEqual([0, 0.75, 1.5]);
  });
});

describe('created', () => {
  it('names the tensors fn made and leaves them to the enclosing scope', () => {
    const old = keep(tensor([1]));
    let made: Set<unknown> | undefined;
    let kept: unknown;
    const batch = scope(() => {
      const r = created(() => {
        kept = keep(tensor([3]));
        return [old, tensor([2])];
      });
      made = r.tensors;
      return r.result;
    });
    expect(made!.has(batch[1])).toBe(true);
    expect(made!.has(old)).toBe(false);
    expect(made!.has(kept)).toBe(false);
    expect(batch[1].isDisposed).toBe(false); // returned by the enclosing scope
    const inner = created(() => scope(() => tensor([4])));
    expect(inner.tensors.has(inner.result)).toBe(true);
  });
});

describe('reads and copies on a device that reads asynchronously', () => {
  it('item, toArray and dataSync name themselves; copy_ across devices is a DeviceError naming both', () => {
    registerBackend({ ...cpuBackend, name: 'async-b', readSync: undefined });
    const x = ones([2], { device: 'async-b' });
    for (const [op, f] of [['item', () => x.narrow(0, 0, 1).item()], ['toArray', () => x.toArray()], ['dataSync', () => x.dataSync()]] as const) {
      let e: unknown;
      try {
        f();
      } catch (err) {
        e = err;
      }
      expect(e, op).toBeInstanceOf(DeviceError);
      expect((e as DeviceError).message).toMatch(new RegExp(`^${op}: device 'async-b' reads asynchronously; use await t.data\\(\\)`));
    }
    expect(() => x.copy_(ones([2]))).toThrow(DeviceError);
    expect(() => x.copy_(ones([2]))).toThrow("copy_: src [2] is on cpu, dst [2] on async-b; move src with .to('async-b')");
  });
});
