// Every error @dl throws on purpose has one base class: `catch (e) { if (e instanceof DLError) ... }`
// sees all of them, from every package (this package sits on top of tensor and autograd).
import * as autograd from '@dl/autograd';
import * as tensor from '@dl/tensor';
import { DLError, IndexError, setCpuKernels, setNumThreads, sum, zeros } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import * as layers from './index.js';

/** The exported classes that are errors: [package/name, class]. */
function errorClasses(): [string, new (...a: never[]) => Error][] {
  const found: [string, new (...a: never[]) => Error][] = [];
  for (const [pkg, mod] of Object.entries({ '@dl/tensor': tensor, '@dl/autograd': autograd, '@dl/layers': layers })) {
    for (const [name, v] of Object.entries(mod)) {
      if (typeof v === 'function' && (v === Error || v.prototype instanceof Error)) found.push([`${pkg} ${name}`, v as never]);
    }
  }
  return found;
}

describe('error classes', () => {
  it('every error class exported by @dl/tensor, @dl/autograd and @dl/layers extends DLError', () => {
    const classes = errorClasses();
    // DLError, ShapeError, DTypeError, DeviceError, DisposedError, IndexError, ... AutogradError, ... SafetensorsError, StateDictError
    expect(classes.length).toBeGreaterThanOrEqual(14);
    for (const [name, C] of classes) {
      expect(C === DLError || C.prototype instanceof DLError, name).toBe(true);
      // StateDictError takes the load result in place of a message
      const second = C === layers.StateDictError ? { missingKeys: ['w'], unexpectedKeys: [], shapeMismatches: [] } : 'message';
      const e = new (C as unknown as new (a: string, b: unknown) => Error)('op', second);
      expect(e, name).toBeInstanceOf(DLError);
      expect(e.name, name).toBe(C.name);
    }
  });

  it('IndexError is a DLError with the op, no longer a RangeError', () => {
    let caught: unknown;
    try {
      sum(zeros([2, 3]), 2);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(IndexError);
    expect(caught).toBeInstanceOf(DLError);
    expect(caught).not.toBeInstanceOf(RangeError);
    expect((caught as DLError).op).toBe('sum');
  });

  it('bad thread counts and kernel names throw DLError naming the function', () => {
    expect(() => setNumThreads(0)).toThrow(DLError);
    expect(() => setNumThreads(1.5)).toThrow(/setNumThreads: .*1\.5/);
    expect(() => setCpuKernels('gpu' as never)).toThrow(DLError);
  });
});
