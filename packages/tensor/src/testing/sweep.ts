/**
 * Table-driven bad-input sweeps: each case is a call and what PyTorch does with it, either a typed
 * error (class, op, and the words the message must hold) or the correct result. A case that
 * returns where it must throw, or returns a wrong result, is a silent wrong answer and fails.
 *
 *   import { describe, it } from 'vitest';
 *   runSweep({ describe, it }, 'reshape', [
 *     { name: 'wrong size', run: () => zeros([2, 3]).reshape([4]), throws: ShapeError, op: 'reshape', says: ['[4]', '[2,3]'] },
 *     { name: 'one -1', run: () => zeros([2, 3]).reshape([-1]), passes: { shape: [6], values: [0, 0, 0, 0, 0, 0] } },
 *   ]);
 */
import type { DType } from '../dtype.js';
import { DLError } from '../errors.js';
import { Tensor } from '../tensor.js';

/** A @dl error class (ShapeError, DTypeError, ..., or DLError itself). */
export type DLErrorClass = abstract new (...args: never[]) => DLError;

/** A call that must fail: synchronously, as a rejected promise, or when a returned tensor is read. */
export interface ThrowsCase {
  name: string;
  run: () => unknown;
  /** the class the error must be an instance of (it must also be a DLError) */
  throws: DLErrorClass;
  /** the error's `op`, which its message must also name */
  op: string;
  /** substrings the message must contain: the argument, its value, every shape */
  says?: readonly string[];
}

/** The PyTorch-correct tensor result; values are row-major, NaN matches NaN, infinities match exactly. */
export interface ExpectedTensor {
  shape: readonly number[];
  dtype?: DType;
  values?: readonly (number | boolean)[];
  /** relative and absolute tolerance of float values (default 1e-6) */
  tol?: number;
}

/** A call that must work and give the PyTorch-correct result (a tensor, or a check of anything). */
export interface PassesCase {
  name: string;
  run: () => unknown;
  passes: ExpectedTensor | ((result: unknown) => void | Promise<void>);
}

export type SweepCase = ThrowsCase | PassesCase;

/** The subset of vitest's (or jest's, mocha's) API a sweep needs. */
export interface SweepApi {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>): void;
}

/** Tensors in a result: the value itself, or the entries of an array or plain object (one level). */
function tensorsIn(r: unknown): Tensor[] {
  if (r instanceof Tensor) return [r];
  if (Array.isArray(r)) return r.filter((v): v is Tensor => v instanceof Tensor);
  if (r !== null && typeof r === 'object' && Object.getPrototypeOf(r) === Object.prototype) {
    return Object.values(r).filter((v): v is Tensor => v instanceof Tensor);
  }
  return [];
}

/** Runs the call, awaits it, and reads every tensor it returned (where async devices raise). */
async function settle(run: () => unknown): Promise<unknown> {
  const r = await run();
  for (const t of tensorsIn(r)) await t.data();
  return r;
}

function describeResult(r: unknown): string {
  if (r instanceof Tensor) return `a ${r.dtype} tensor ${JSON.stringify(r.shape)} on ${r.device}`;
  if (r === undefined) return 'undefined';
  const s = tensorsIn(r);
  if (s.length) return `${s.length} tensors (${s.map((t) => JSON.stringify(t.shape)).join(', ')})`;
  try {
    return JSON.stringify(r)?.slice(0, 80) ?? String(r);
  } catch {
    return String(r);
  }
}

/** `a ShapeError`, `an IndexError` */
const article = (name: string): string => (/^[AEIOU]/.test(name) ? `an ${name}` : `a ${name}`);

/** Checks one error against a ThrowsCase; returns what is wrong, or null. */
export function errorProblem(c: Pick<ThrowsCase, 'throws' | 'op' | 'says'>, e: unknown): string | null {
  if (!(e instanceof Error)) return `threw a non-Error ${String(e)}`;
  const got = `${e.name}: ${e.message}`;
  if (!(e instanceof DLError)) return `threw an untyped ${got}`;
  if (!(e instanceof c.throws)) return `threw ${got}; expected ${article(c.throws.name)}`;
  if (e.op !== c.op) return `error op is '${e.op}', expected '${c.op}' (${got})`;
  if (!e.message.includes(c.op)) return `message does not name the op '${c.op}': ${got}`;
  const missing = (c.says ?? []).filter((s) => !e.message.includes(s));
  if (missing.length) return `message lacks ${missing.map((s) => JSON.stringify(s)).join(', ')}: ${got}`;
  return null;
}

function same(a: number, e: number, tol: number): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  return Math.abs(a - e) <= tol + tol * Math.abs(e);
}

/** Checks a tensor against an ExpectedTensor; returns what is wrong, or null. */
export async function tensorProblem(r: unknown, want: ExpectedTensor): Promise<string | null> {
  if (!(r instanceof Tensor)) return `returned ${describeResult(r)}, expected a tensor`;
  if (JSON.stringify(r.shape) !== JSON.stringify(want.shape)) return `shape ${JSON.stringify(r.shape)}, expected ${JSON.stringify(want.shape)}`;
  if (want.dtype && r.dtype !== want.dtype) return `dtype ${r.dtype}, expected ${want.dtype}`;
  if (!want.values) return null;
  const got = Array.from(await r.data(), Number);
  const exp = want.values.map(Number);
  if (got.length !== exp.length) return `${got.length} values, expected ${exp.length}`;
  const tol = want.tol ?? 1e-6;
  const exact = r.dtype === 'int32' || r.dtype === 'bool';
  const bad = exp.findIndex((e, i) => (exact ? got[i] !== e : !same(got[i], e, tol)));
  if (bad >= 0) return `values [${got.join(', ')}], expected [${exp.join(', ')}] (first difference at ${bad})`;
  return null;
}

/** Runs one case; throws an Error saying what went wrong (a silent wrong answer, an untyped error, ...). */
export async function runSweepCase(c: SweepCase): Promise<void> {
  if ('throws' in c) {
    let r: unknown;
    try {
      r = await settle(c.run);
    } catch (e) {
      const problem = errorProblem(c, e);
      if (problem) throw new Error(`${c.name}: ${problem}`, { cause: e });
      return;
    }
    throw new Error(`${c.name}: silent wrong answer: expected ${article(c.throws.name)} from ${c.op}, got ${describeResult(r)}`);
  }
  let r: unknown;
  try {
    r = await settle(c.run);
  } catch (e) {
    throw new Error(`${c.name}: must work (as in PyTorch) but threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
  }
  if (typeof c.passes === 'function') await c.passes(r);
  else {
    const problem = await tensorProblem(r, c.passes);
    if (problem) throw new Error(`${c.name}: wrong result: ${problem}`);
  }
}

/** Registers one test per case under `title`. */
export function runSweep(api: SweepApi, title: string, cases: readonly SweepCase[]): void {
  api.describe(title, () => {
    for (const c of cases) api.it(c.name, () => runSweepCase(c));
  });
}
