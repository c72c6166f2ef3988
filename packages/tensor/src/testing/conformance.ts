/**
 * The backend conformance suite: every fixture case of `fixtures.json` (PyTorch's results, made by
 * `fixtures/gen_fixtures.py`) run on one device. Any backend's tests call it:
 *
 *   import { describe, it, expect } from 'vitest';
 *   import { runConformance } from '@dl/tensor/testing';
 *   runConformance({ describe, it, expect }, { device: 'webgpu' });
 */
import type { DType, TypedArray } from '../dtype.js';
import {
  abs, adaptiveAvgPool2d, add, arange, argmax, argmin, avgPool2d, cast, cat, ceil, chunk, clamp, contiguous,
  conv1d, conv2d, convTranspose2d, cos, cumsum, div, eq, erf, exp, expand, expm1, eye, flatten, flip, floor,
  full, gather, ge, gelu, gt, indexSelect, le, linspace, log, log1p, logicalAnd, logicalNot, logicalOr,
  layerNorm, logSoftmax, logsumexp, lt, maskedFill, matmul, max, maximum, maxPool2d, mean, memory, min, minimum, mul,
  narrow, ne, neg, oneHot, ones, onesLike, pad, permute, pow, prod, reciprocal, relu, remainder, repeat,
  reshape, round, rsqrt, scatterAdd, scope, select, sigmoid, sign, silu, sin, slice, softmax, softplus, sort, split,
  sqrt, square, squeeze, stack, std, sub, sum, tanh, tensor, topk, transpose, tril, triu, unsqueeze,
  variance, view, where, zeros, zerosLike, Tensor,
} from '../index.js';
import { getBackend, hasBackend, isFloat, keep, promoteWithScalar, type DLError } from '../index.js';
import fixtureFile from './fixtures.json';

/** A value the fixture encodes: JSON numbers and booleans, plus "inf", "-inf" and "nan". */
export type FixtureNumber = number | boolean | string;
type Nested = FixtureNumber | Nested[];

export interface FixtureTensor {
  dtype: string;
  shape: number[];
  /** nested for inputs, flat (row-major) for expected outputs */
  data: Nested;
  /** view ops applied to the input after it is made, e.g. [['transpose', 0, 1]] */
  view?: (string | number | number[])[][];
}
export type FixtureInput = FixtureTensor | { scalar: number | boolean } | { list: FixtureInput[] };

export interface FixtureCase {
  name: string;
  op: string;
  inputs?: FixtureInput[];
  args?: Record<string, unknown>;
  expected: FixtureTensor[];
}

export const fixtures = fixtureFile as unknown as { generator: string; torch: string; cases: FixtureCase[] };

/** What runConformance needs of a test framework (vitest's and jest's functions fit). */
export interface TestApi {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>): void;
  expect(value: unknown, message?: string): { toBe(v: unknown): void; toEqual(v: unknown): void; toBeNull(): void; toBeLessThanOrEqual(v: number): void };
}

export interface ConformanceOptions {
  device: string;
  /** case names, op names or name prefixes ('conv2d/') to leave out */
  skip?: string[];
  rtol?: number;
  atol?: number;
}

type Input = Tensor | number | boolean | Tensor[];
type Output = Tensor | Tensor[] | { values: Tensor; indices: Tensor };
// inputs and args come from JSON; each op reads the ones it takes
type Args = Record<string, any>;
type OpFn = (x: any[], a: Args, device: string) => Output;

/** "inf", "-inf" and "nan" as numbers; everything else unchanged. */
export function fixtureValue(v: unknown): unknown {
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (v === 'nan') return NaN;
  return v;
}

/** One line per op: how a case's inputs and args map to a call of @dl/tensor's API. */
export const OPS: Record<string, OpFn> = {
  // creation
  zeros: (_, a, device) => zeros(a.shape, { dtype: a.dtype, device }),
  ones: (_, a, device) => ones(a.shape, { dtype: a.dtype, device }),
  full: (_, a, device) => full(a.shape, a.value, { dtype: a.dtype, device }),
  arange: (_, a, device) => arange(a.start, a.end, a.step, { device }),
  linspace: (_, a, device) => linspace(a.start, a.end, a.steps, { device }),
  eye: (_, a, device) => eye(a.n, a.m, { device }),
  zerosLike: ([x]) => zerosLike(x),
  onesLike: ([x]) => onesLike(x),
  // elementwise, binary (operands may be JS scalars)
  add: ([x, y]) => add(x, y),
  sub: ([x, y]) => sub(x, y),
  mul: ([x, y]) => mul(x, y),
  div: ([x, y]) => div(x, y),
  pow: ([x, y]) => pow(x, y),
  remainder: ([x, y]) => remainder(x, y),
  maximum: ([x, y]) => maximum(x, y),
  minimum: ([x, y]) => minimum(x, y),
  eq: ([x, y]) => eq(x, y),
  ne: ([x, y]) => ne(x, y),
  lt: ([x, y]) => lt(x, y),
  le: ([x, y]) => le(x, y),
  gt: ([x, y]) => gt(x, y),
  ge: ([x, y]) => ge(x, y),
  logicalAnd: ([x, y]) => logicalAnd(x, y),
  logicalOr: ([x, y]) => logicalOr(x, y),
  where: ([c, x, y]) => where(c, x, y),
  clamp: ([x, lo, hi], a) => clamp(x, lo ?? a.min, hi ?? a.max),
  maskedFill: ([x, m], a) => maskedFill(x, m, a.value),
  cast: ([x], a) => cast(x, a.dtype),
  // elementwise, unary
  exp: ([x]) => exp(x),
  log: ([x]) => log(x),
  log1p: ([x]) => log1p(x),
  expm1: ([x]) => expm1(x),
  sqrt: ([x]) => sqrt(x),
  rsqrt: ([x]) => rsqrt(x),
  abs: ([x]) => abs(x),
  sign: ([x]) => sign(x),
  neg: ([x]) => neg(x),
  sin: ([x]) => sin(x),
  cos: ([x]) => cos(x),
  tanh: ([x]) => tanh(x),
  sigmoid: ([x]) => sigmoid(x),
  relu: ([x]) => relu(x),
  gelu: ([x], a) => gelu(x, a.approximate),
  silu: ([x]) => silu(x),
  softplus: ([x]) => softplus(x),
  erf: ([x]) => erf(x),
  reciprocal: ([x]) => reciprocal(x),
  square: ([x]) => square(x),
  floor: ([x]) => floor(x),
  ceil: ([x]) => ceil(x),
  round: ([x]) => round(x),
  logicalNot: ([x]) => logicalNot(x),
  // reductions
  sum: ([x], a) => sum(x, a.dim, a.keepdim),
  mean: ([x], a) => mean(x, a.dim, a.keepdim),
  prod: ([x], a) => prod(x, a.dim, a.keepdim),
  var: ([x], a) => variance(x, a.dim, a.unbiased, a.keepdim),
  std: ([x], a) => std(x, a.dim, a.unbiased, a.keepdim),
  max: ([x], a) => max(x, a.dim, a.keepdim),
  min: ([x], a) => min(x, a.dim, a.keepdim),
  argmax: ([x], a) => argmax(x, a.dim, a.keepdim),
  argmin: ([x], a) => argmin(x, a.dim, a.keepdim),
  logsumexp: ([x], a) => logsumexp(x, a.dim, a.keepdim),
  cumsum: ([x], a) => cumsum(x, a.dim),
  softmax: ([x], a) => softmax(x, a.dim),
  logSoftmax: ([x], a) => logSoftmax(x, a.dim),
  layerNorm: ([x, w, b], a) => (a.biasOnly ? layerNorm(x, a.normalizedShape, null, w, a.eps) : layerNorm(x, a.normalizedShape, w, b, a.eps)),
  // linear algebra, convolution, pooling
  matmul: ([x, y]) => matmul(x, y),
  conv1d: ([x, w, bias], a) => conv1d(x, w, { ...a, bias }),
  conv2d: ([x, w, bias], a) => conv2d(x, w, { ...a, bias }),
  convTranspose2d: ([x, w, bias], a) => convTranspose2d(x, w, { ...a, bias }),
  maxPool2d: ([x], { kernelSize, ...a }) => maxPool2d(x, kernelSize, a),
  avgPool2d: ([x], { kernelSize, ...a }) => avgPool2d(x, kernelSize, a),
  adaptiveAvgPool2d: ([x], a) => adaptiveAvgPool2d(x, a.outputSize),
  // joining, splitting, indexing
  cat: ([xs], a) => cat(xs, a.dim),
  stack: ([xs], a) => stack(xs, a.dim),
  split: ([x], a) => split(x, a.sizeOrSections, a.dim),
  chunk: ([x], a) => chunk(x, a.chunks, a.dim),
  pad: ([x], a) => pad(x, a.pads, a.mode, a.value),
  gather: ([x, i], a) => gather(x, a.dim, i),
  indexSelect: ([x, i], a) => indexSelect(x, a.dim, i),
  scatterAdd: ([x, i, s], a) => scatterAdd(x, a.dim, i, s),
  oneHot: ([i], a) => oneHot(i, a.numClasses),
  tril: ([x], a) => tril(x, a.k),
  triu: ([x], a) => triu(x, a.k),
  repeat: ([x], a) => repeat(x, a.reps),
  flip: ([x], a) => flip(x, a.dims),
  sort: ([x], a) => sort(x, a.dim, a.descending),
  topk: ([x], a) => topk(x, a.k, a.dim, a.largest),
  // views
  reshape: ([x], a) => reshape(x, a.shape),
  view: ([x], a) => view(x, a.shape),
  transpose: ([x], a) => transpose(x, a.dim0, a.dim1),
  permute: ([x], a) => permute(x, a.dims),
  T: ([x]) => x.T,
  expand: ([x], a) => expand(x, a.shape),
  squeeze: ([x], a) => squeeze(x, a.dim),
  unsqueeze: ([x], a) => unsqueeze(x, a.dim),
  flatten: ([x], a) => flatten(x, a.startDim, a.endDim),
  narrow: ([x], a) => narrow(x, a.dim, a.start, a.length),
  slice: ([x], a) => slice(x, a.dim, a.start, a.end, a.step),
  select: ([x], a) => select(x, a.dim, a.index),
  contiguous: ([x]) => contiguous(x),
};

const method = (name: string): OpFn => ([x, ...rest]) => (x as any)[name](...rest);

/**
 * The same ops called as Tensor methods, where @dl has one (x.add(y), x.sum(dim, keepdim), ...).
 * Cases whose `this` operand is not a tensor (a scalar on the left) run as functions only.
 */
export const METHODS: Record<string, OpFn> = {
  ...Object.fromEntries(
    ['add', 'sub', 'mul', 'div', 'pow', 'remainder', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
      'logicalAnd', 'logicalOr', 'logicalNot', 'neg', 'abs', 'sign', 'exp', 'log', 'log1p', 'expm1', 'sqrt',
      'rsqrt', 'square', 'reciprocal', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'silu', 'softplus', 'erf',
      'floor', 'ceil', 'round', 'matmul', 'contiguous'].map((name) => [name, method(name)]),
  ),
  gelu: ([x], a) => x.gelu(a.approximate),
  where: ([c, x, y]) => x.where(c, y),
  clamp: ([x, lo, hi], a) => x.clamp(lo ?? a.min, hi ?? a.max),
  maskedFill: ([x, m], a) => x.maskedFill(m, a.value),
  cast: ([x], a) => x.cast(a.dtype),
  sum: ([x], a) => x.sum(a.dim, a.keepdim),
  mean: ([x], a) => x.mean(a.dim, a.keepdim),
  prod: ([x], a) => x.prod(a.dim, a.keepdim),
  var: ([x], a) => x.var(a.dim, a.unbiased, a.keepdim),
  std: ([x], a) => x.std(a.dim, a.unbiased, a.keepdim),
  max: ([x], a) => x.max(a.dim, a.keepdim),
  min: ([x], a) => x.min(a.dim, a.keepdim),
  argmax: ([x], a) => x.argmax(a.dim, a.keepdim),
  argmin: ([x], a) => x.argmin(a.dim, a.keepdim),
  logsumexp: ([x], a) => x.logsumexp(a.dim, a.keepdim),
  cumsum: ([x], a) => x.cumsum(a.dim),
  softmax: ([x], a) => x.softmax(a.dim),
  logSoftmax: ([x], a) => x.logSoftmax(a.dim),
  conv1d: ([x, w, bias], a) => x.conv1d(w, { ...a, bias }),
  conv2d: ([x, w, bias], a) => x.conv2d(w, { ...a, bias }),
  convTranspose2d: ([x, w, bias], a) => x.convTranspose2d(w, { ...a, bias }),
  maxPool2d: ([x], { kernelSize, ...a }) => x.maxPool2d(kernelSize, a),
  avgPool2d: ([x], { kernelSize, ...a }) => x.avgPool2d(kernelSize, a),
  split: ([x], a) => x.split(a.sizeOrSections, a.dim),
  chunk: ([x], a) => x.chunk(a.chunks, a.dim),
  gather: ([x, i], a) => x.gather(a.dim, i),
  indexSelect: ([x, i], a) => x.indexSelect(a.dim, i),
  scatterAdd: ([x, i, s], a) => x.scatterAdd(a.dim, i, s),
  tril: ([x], a) => x.tril(a.k),
  triu: ([x], a) => x.triu(a.k),
  repeat: ([x], a) => x.repeat(a.reps),
  flip: ([x], a) => x.flip(a.dims),
  sort: ([x], a) => x.sort(a.dim, a.descending),
  topk: ([x], a) => x.topk(a.k, a.dim, a.largest),
  reshape: ([x], a) => x.reshape(a.shape),
  view: ([x], a) => x.view(a.shape),
  transpose: ([x], a) => x.transpose(a.dim0, a.dim1),
  permute: ([x], a) => x.permute(a.dims),
  expand: ([x], a) => x.expand(a.shape),
  squeeze: ([x], a) => x.squeeze(a.dim),
  unsqueeze: ([x], a) => x.unsqueeze(a.dim),
  flatten: ([x], a) => x.flatten(a.startDim, a.endDim),
  narrow: ([x], a) => x.narrow(a.dim, a.start, a.length),
  slice: ([x], a) => x.slice(a.dim, a.start, a.end, a.step),
  select: ([x], a) => x.select(a.dim, a.index),
};

/** The view ops an input's `view` chain may name, applied with the Tensor methods. */
const VIEWS: Record<string, (x: Tensor, ...args: any[]) => Tensor> = {
  transpose: (x, d0: number, d1: number) => x.transpose(d0, d1),
  permute: (x, dims: number[]) => x.permute(dims),
  T: (x) => x.T,
  slice: (x, dim: number, start: number, end: number, step: number) => x.slice(dim, start, end, step),
  flip: (x, dims: number[]) => x.flip(dims),
  expand: (x, shape: number[]) => x.expand(shape),
  narrow: (x, dim: number, start: number, length: number) => x.narrow(dim, start, length),
  unsqueeze: (x, dim: number) => x.unsqueeze(dim),
  select: (x, dim: number, index: number) => x.select(dim, index),
};

function decodeNested(v: Nested): Nested {
  return Array.isArray(v) ? v.map(decodeNested) : (fixtureValue(v) as Nested);
}

/** Makes a fixture input on `device`: a tensor (through its view chain), a scalar, or a list. */
export function buildInput(input: FixtureInput, device: string): Input {
  if ('scalar' in input) return input.scalar;
  if ('list' in input) return input.list.map((x) => buildInput(x, device) as Tensor);
  const dtype = input.dtype as DType;
  const base = input.shape.includes(0)
    ? full(input.shape, 0, { dtype, device }) // nested lists cannot spell a [0, n] shape
    : tensor(decodeNested(input.data) as number[], { dtype, device });
  let x = base;
  for (const [name, ...args] of input.view ?? []) x = VIEWS[name as string](x, ...args);
  return x;
}

/** The outputs of an op call as a list (sort/topk give values then indices, as PyTorch). */
export function outputsOf(out: Output): Tensor[] {
  if (out instanceof Tensor) return [out];
  if (Array.isArray(out)) return out;
  return [out.values, out.indices];
}

/**
 * Compares values read back from a tensor with a fixture's flat expected data: exact for int32 and
 * bool, |got - want| <= atol + rtol * |want| for floats (NaN matches NaN, infinities must match).
 * Returns null when they match, else a message naming the first mismatch.
 */
export function compareValues(got: TypedArray, want: FixtureNumber[], dtype: string, rtol = 1e-4, atol = 1e-5): string | null {
  if (got.length !== want.length) return `expected ${want.length} values, got ${got.length}`;
  let bad = 0;
  let first = '';
  for (let i = 0; i < want.length; i++) {
    const w = Number(fixtureValue(want[i]));
    const g = got[i];
    let ok: boolean;
    if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16') ok = g === w;
    else if (Number.isNaN(w)) ok = Number.isNaN(g);
    else if (!Number.isFinite(w)) ok = g === w;
    else ok = Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok && bad++ === 0) first = `at flat index ${i}: expected ${w}, got ${g}`;
  }
  return bad ? `${bad} of ${want.length} values differ; first ${first}` : null;
}

function skipped(c: FixtureCase, skip: readonly string[]): boolean {
  return skip.some((s) => c.name === s || c.op === s || (s.endsWith('/') && c.name.startsWith(s)));
}

/** The distinct tensors among inputs and outputs (an op may return an input; a list may repeat one). */
function tensorsIn(values: (Input | Tensor)[], into = new Set<Tensor>()): Set<Tensor> {
  for (const v of values) {
    if (v instanceof Tensor) into.add(v);
    else if (Array.isArray(v)) tensorsIn(v, into);
  }
  return into;
}

/** Runs one fixture case on `device` and checks dtype, shape and values of every output. */
export async function runCase(t: Pick<TestApi, 'expect'>, c: FixtureCase, opts: ConformanceOptions, via: 'function' | 'method' = 'function'): Promise<void> {
  const { expect } = t;
  const op = (via === 'method' ? METHODS : OPS)[c.op];
  if (!op) throw new Error(`conformance: no ${via} entry for op '${c.op}' (case ${c.name})`);
  // The leak check counts live tensors in synchronous code only (before the first await, after the
  // last): finalizers never run there, so garbage collection cannot move the counts it compares.
  const before = memory().tensors;
  // the bases of view-chain inputs go at the end of the scope; their views keep the storage
  const inputs = scope(() => (c.inputs ?? []).map((x) => buildInput(x, opts.device)));
  const args = Object.fromEntries(Object.entries(c.args ?? {}).map(([k, v]) => [k, fixtureValue(v)]));
  // scope() frees the intermediates an op makes; only its outputs stay
  const outs = scope(() => outputsOf(op(inputs, args, opts.device)));
  const held = tensorsIn([...inputs, ...outs]);
  expect(memory().tensors - before - held.size, `${c.name}: live tensors besides the inputs and outputs`).toBe(0);
  expect(outs.length, `${c.name}: number of outputs`).toBe(c.expected.length);
  for (let i = 0; i < outs.length; i++) {
    const want = c.expected[i];
    const got = outs[i];
    expect(got.device, `${c.name}: output ${i} device`).toBe(opts.device);
    expect(got.dtype, `${c.name}: output ${i} dtype`).toBe(want.dtype);
    expect([...got.shape], `${c.name}: output ${i} shape`).toEqual(want.shape);
    const mismatch = compareValues(await got.data(), want.data as FixtureNumber[], want.dtype, opts.rtol, opts.atol);
    expect(mismatch, `${c.name}: output ${i} values`).toBeNull();
  }
  const live = memory().tensors;
  for (const x of held) x.dispose();
  expect(live - memory().tensors, `${c.name}: tensors freed by disposing the inputs and outputs`).toBe(held.size);
}

/** Registers one test per fixture case (grouped by op) that runs on `opts.device`. */
export function runConformance(t: TestApi, opts: ConformanceOptions): void {
  const byOp = new Map<string, FixtureCase[]>();
  for (const c of fixtures.cases) {
    if (skipped(c, opts.skip ?? [])) continue;
    if (!byOp.has(c.op)) byOp.set(c.op, []);
    byOp.get(c.op)!.push(c);
  }
  t.describe(`@dl/tensor conformance on ${opts.device} (PyTorch ${fixtures.torch} fixtures)`, () => {
    for (const [op, cases] of byOp) {
      t.describe(op, () => {
        for (const c of cases) {
          t.it(c.name, () => runCase(t, c, opts));
          const self = c.inputs?.[c.op === 'where' ? 1 : 0]; // x.where(cond, other) is called on x
          if (METHODS[c.op] && self && 'shape' in self) t.it(`${c.name} (method)`, () => runCase(t, c, opts, 'method'));
        }
      });
    }
    runScalarOperands(t, opts);
  });
}

// ---------------------------------------------------------------------------------------------
// Scalar operands. A JS number or boolean operand reaches the kernel as an attribute
// (binaryScalar, whereScalar) rather than as a tensor made by `full`. These cases check, on each
// device, that it gives bit for bit what the same value as a 0-d tensor gives (the path it
// replaced): both operand orders, float/int/bool tensors (and float16 where the device holds it),
// NaN and infinite scalars, int32 wrap-around, promotion of int tensors by fractional scalars.

const SCALAR_OPS = { add, sub, mul, div, pow, remainder, maximum, minimum, eq, ne, lt, le, gt, ge, logicalAnd, logicalOr };

/** Per tensor dtype: a [3,4] input (read through a transpose) and the scalars to combine it with. */
const SCALAR_INPUTS: Record<'float32' | 'float16' | 'int32' | 'bool', { values: number[]; scalars: (number | boolean)[] }> = {
  float32: { values: [NaN, -Infinity, -2.5, -1, -0, 0, 0.5, 1, 3, Infinity, 1e-3, 7.25], scalars: [0.75, -2, 0, 3, 0.1, NaN, Infinity, -Infinity, true] },
  float16: { values: [NaN, -Infinity, -2.5, -1, -0, 0, 0.5, 1, 3, Infinity, 1e-3, 7.25], scalars: [0.75, -2, 0, 0.1, 70000, NaN, -Infinity, false] },
  int32: { values: [-7, -3, -1, 0, 1, 2, 5, 2147483647, -2147483648, 3, 4, 6], scalars: [3, -2, 0, 2.5, 1e10, NaN, Infinity, true] },
  bool: { values: [1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0], scalars: [true, false, 2, 0.5] },
};

/** Values as strings that tell -0 from 0 and match NaN with NaN. */
const exactly = (a: TypedArray): string[] => Array.from(a, (v) => (Object.is(v, -0) ? '-0' : String(v)));

/** The scalar as the 0-d tensor `full` made for it before: in the promoted dtype, float32 for true division. */
function asTensor(x: Tensor, s: number | boolean, op?: string): Tensor {
  const t = promoteWithScalar(x.dtype, s);
  // an int32 past 2^31 wraps as an int32 operand does (full refuses such a value, as torch.full)
  if (t === 'int32' && op !== 'div') return tensor(Int32Array.of(Number(s)), { shape: [], device: x.device });
  return full([], Number(s), { dtype: op === 'div' && !isFloat(t) ? 'float32' : t, device: x.device });
}

function runScalarOperands(t: TestApi, opts: ConformanceOptions): void {
  // a backend registered later (in beforeAll) is asked at run time: float16 runs where it is held
  const holds = (d: DType): boolean => !hasBackend(opts.device) || getBackend(opts.device).dtypes.includes(d);
  const dtypes = (Object.keys(SCALAR_INPUTS) as DType[]).filter(holds);
  /**
   * pairs [scalar path, tensor path] made by `make` for each scalar, compared after one readback of
   * all. Both may throw (integer remainder by zero, bool - bool): the same class for the same op. A
   * device without synchronous reads checks no tensor operand's values, so there only the scalar
   * path throws for a bad value.
   */
  const same = async (name: string, dtype: DType, make: (x: Tensor, s: number | boolean) => [() => Tensor, () => Tensor][]): Promise<void> => {
    if (!getBackend(opts.device).dtypes.includes(dtype)) return;
    const { values, scalars } = SCALAR_INPUTS[dtype as keyof typeof SCALAR_INPUTS];
    const attempt = (f: () => Tensor): Tensor | Error => {
      try {
        return keep(f());
      } catch (e) {
        return e as Error;
      }
    };
    const tried = scope(() => {
      const x = tensor(values, { dtype, device: opts.device }).reshape([4, 3]).T; // [3,4], strided
      return scalars.flatMap((s) => make(x, s).map(([a, b]) => ({ s, p: [attempt(a), attempt(b)] })));
    });
    const pairs: { s: number | boolean; p: [Tensor, Tensor] }[] = [];
    tried.forEach(({ s, p: [got, want] }, i) => {
      const what = `${name} ${dtype} with ${String(s)} (case ${i})`;
      if (!(got instanceof Error) && !(want instanceof Error)) return void pairs.push({ s, p: [got, want] });
      for (const y of [got, want]) if (!(y instanceof Error)) y.dispose();
      t.expect(got instanceof Error, `${what}: the scalar path throws where the tensor path does: ${String(want)}`).toBe(true);
      if (want instanceof Error) {
        t.expect(got.constructor, `${what}: ${String(got)} vs ${String(want)}`).toBe(want.constructor);
        t.expect((got as DLError).op, what).toBe((want as DLError).op);
      } else t.expect(getBackend(opts.device).readSync === undefined, `${what}: only the scalar path threw: ${String(got)}`).toBe(true);
    });
    const read = await Promise.all(pairs.map(({ p }) => Promise.all(p.map((y) => y.data()))));
    pairs.forEach(({ s, p: [got, want] }, i) => {
      const what = `${name} ${dtype} with ${String(s)} (case ${i})`;
      t.expect(got.dtype, `${what}: dtype`).toBe(want.dtype);
      t.expect([...got.shape], `${what}: shape`).toEqual([...want.shape]);
      t.expect(exactly(read[i][0]), `${what}: values`).toEqual(exactly(read[i][1]));
      got.dispose();
      want.dispose();
    });
  };
  t.describe('scalar operands give what a 0-d tensor of the promoted dtype gives', () => {
    for (const dtype of dtypes) {
      for (const [name, f] of Object.entries(SCALAR_OPS)) {
        t.it(`${name} ${dtype}: x op s and s op x`, () =>
          same(name, dtype, (x, s) => [
            [() => f(x, s), () => f(x, asTensor(x, s, name))],
            [() => f(s, x), () => f(asTensor(x, s, name), x)],
          ]),
        );
      }
      t.it(`where and maskedFill ${dtype} with a scalar on either side`, () =>
        same('where', dtype, (x, s) => {
          const c = tensor([true, false, false, true], { device: x.device }); // broadcast over [3,4]
          return [
            [() => where(c, x, s), () => where(c, x, asTensor(x, s))],
            [() => where(c, s, x), () => where(c, asTensor(x, s), x)],
            [() => maskedFill(x, c, s as number), () => where(c, asTensor(x, s), x)],
          ];
        }),
      );
      if (dtype !== 'bool') {
        t.it(`clamp ${dtype} with number bounds`, () =>
          same('clamp', dtype, (x, s) => [
            [() => clamp(x, s as number, 2), () => minimum(maximum(x, asTensor(x, s)), asTensor(x, 2))],
            [() => clamp(x, -1, s as number), () => minimum(maximum(x, asTensor(x, -1)), asTensor(x, s))],
          ]),
        );
      }
    }
  });
}
