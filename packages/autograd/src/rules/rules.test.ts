import { add, cat, convTranspose2d, layerNorm, cpuBackend, div, manualSeed, maximum, minimum, mul, pad, pow, rand, remainder, randn, sliceScatter, sub, tensor, where, type Tensor, type TensorLike } from '@dl/tensor';
import { BINARY_OPS, UNARY_OPS, runKernel, type Primitive, type UnaryOp, type ViewPrimitive } from '@dl/tensor/internal';
import { describe, expect, test } from 'vitest';
import { grad } from '../api.js';
import { gradcheck, type GradcheckOptions } from '../gradcheck.js';
import { trace } from '../tape.js';
import { rules } from './index.js';

const VIEWS = ['reshape', 'permute', 'expand', 'slice'] as const satisfies readonly ViewPrimitive[];
// compile-time: VIEWS lists every view primitive
const viewsComplete: [Exclude<ViewPrimitive, (typeof VIEWS)[number]>] extends [never] ? true : never = true;
void viewsComplete;

const f64 = { dtype: 'float64' as const };
const normal = (...shape: number[]): Tensor => randn(shape, f64);
/** values in [lo, lo + 1) */
const uniform = (lo: number, ...shape: number[]): Tensor => rand(shape, f64).add(lo);
const int = (v: number[][]): Tensor => tensor(v, { dtype: 'int32' });

interface Case {
  prim: Primitive;
  name: string;
  inputs: () => Tensor[];
  f: (...xs: Tensor[]) => Tensor;
  opts?: GradcheckOptions;
  /** skip the second-order check (with the reason) */
  noSecondOrder?: string;
}

/** domain of each unary op's test input: positive where the function needs it */
const unaryInput: Partial<Record<UnaryOp, () => Tensor>> = {
  log: () => uniform(0.5, 4, 3),
  sqrt: () => uniform(0.5, 4, 3),
  rsqrt: () => uniform(0.5, 4, 3),
  log1p: () => uniform(0, 4, 3),
  reciprocal: () => uniform(0.5, 4, 3),
  // stay a safe distance from 0 (kinks) and from .5 / integers (jumps)
  abs: () => tensor([[-1.3, 0.7, 2.2], [0.4, -0.6, -2.1], [1.1, -0.2, 0.3], [-0.8, 1.6, -1.2]], f64),
  relu: () => tensor([[-1.3, 0.7, 2.2], [0.4, -0.6, -2.1], [1.1, -0.2, 0.3], [-0.8, 1.6, -1.2]], f64),
  sign: () => tensor([[-1.3, 0.7, 2.2], [0.4, -0.6, -2.1], [1.1, -0.2, 0.3], [-0.8, 1.6, -1.2]], f64),
  floor: () => tensor([[-1.3, 0.7, 2.2], [0.4, -0.6, -2.1], [1.1, -0.2, 0.3], [-0.8, 1.6, -1.2]], f64),
  ceil: () => tensor([[-1.3, 0.7, 2.2], [0.4, -0.6, -2.1], [1.1, -0.2, 0.3], [-0.8, 1.6, -1.2]], f64),
  round: () => tensor([[-1.3, 0.7, 2.2], [0.4, -0.6, -2.1], [1.1, -0.2, 0.3], [-0.8, 1.6, -1.2]], f64),
};

const unaryCases: Case[] = UNARY_OPS.filter((op) => op !== 'logicalNot').map((op) => ({
  prim: op,
  name: `${op} of a transposed view`,
  inputs: () => [(unaryInput[op] ?? (() => normal(4, 3)))()],
  // x [4,3] -> x.T [3,4]: non-contiguous input to the kernel
  f: (x) => runKernel(op, [x.T], {}, [x.shape[1], x.shape[0]], x.dtype),
}));

const binaryFns: Record<string, (a: Tensor, b: Tensor) => Tensor> = {
  add: (a, b) => a.add(b),
  sub: (a, b) => a.sub(b),
  mul: (a, b) => a.mul(b),
  div: (a, b) => a.div(b),
  pow: (a, b) => a.pow(b),
  maximum: (a, b) => a.maximum(b),
  minimum: (a, b) => a.minimum(b),
  mod: (a, b) => a.remainder(b),
};

const binaryCases: Case[] = BINARY_OPS.filter((op) => op in binaryFns).map((op) => ({
  prim: op,
  name: `${op} broadcasting [3,1,4] with a transposed [4,2] -> [3,2,4]`,
  inputs: () =>
    op === 'pow' ? [uniform(0.5, 3, 1, 4), normal(4, 2)] : op === 'div' || op === 'mod' ? [normal(3, 1, 4), uniform(1, 4, 2)] : [normal(3, 1, 4), normal(4, 2)],
  f: (a, b) => binaryFns[op](a, b.T),
}));

const scalarFns = { add, sub, mul, div, pow, maximum, minimum, mod: remainder } satisfies Record<string, (a: TensorLike, b: TensorLike) => Tensor>;

/** inputs away from poles (0 for s / x), the negative bases of x^s and the jumps of s mod x */
const scalarInput = (op: keyof typeof scalarFns, reversed: boolean): Tensor =>
  op === 'pow' && !reversed ? uniform(0.5, 3, 4) : op === 'div' && reversed ? uniform(1, 3, 4) : op === 'mod' && reversed ? uniform(0.75, 3, 4) : normal(3, 4);

// x op 0.7 and 0.7 op x: the number travels as an attribute of one binaryScalar kernel
const scalarCases: Case[] = (Object.keys(scalarFns) as (keyof typeof scalarFns)[]).flatMap((op) =>
  [false, true].map((reversed) => ({
    prim: 'binaryScalar' as const,
    name: `${op} with a number on the ${reversed ? 'left' : 'right'} (of a transposed view)`,
    inputs: () => [scalarInput(op, reversed)],
    f: (x: Tensor) => (reversed ? scalarFns[op](0.7, x.T) : scalarFns[op](x.T, 0.7)),
  })),
);

const TIE = 'the first derivative jumps at a tie, so finite differences of it do not converge';

const tied = (): Tensor[] => {
  const a = tensor([[1, 2, 3], [4, 5, 6]], f64);
  const b = tensor([[1, 0, 3], [5, 5, 2]], f64);
  return [a, b];
};

const cases: Case[] = [
  ...unaryCases,
  ...binaryCases,
  { prim: 'maximum', name: 'maximum with ties (gradient split in half)', inputs: tied, f: (a, b) => a.maximum(b), noSecondOrder: TIE },
  { prim: 'minimum', name: 'minimum with ties', inputs: tied, f: (a, b) => a.minimum(b), noSecondOrder: TIE },
  ...scalarCases,
  { prim: 'binaryScalar', name: 'pow by an integer exponent of negative bases', inputs: () => [normal(3, 4)], f: (a) => a.pow(3) },
  { prim: 'binaryScalar', name: 'pow by exponent 0 (gradient 0 everywhere, 0^0 included)', inputs: () => [tensor([[0, 1.5], [-2, 0.25]], f64)], f: (a) => a.pow(0) },
  {
    prim: 'whereScalar',
    name: 'where with a number for b, and with a number for a',
    inputs: () => [normal(3, 4)],
    f: (x) => where(tensor([[true], [false], [true]]), x, 0.5).add(where(tensor([true, false, false, true]), -2, x)),
  },
  {
    prim: 'where',
    name: 'where broadcasting cond [3,1], a [3,4], b [4]',
    inputs: () => [normal(3, 4), normal(4)],
    f: (a, b) => where(tensor([[true], [false], [true]]), a, b),
  },
  {
    prim: 'cast',
    name: 'cast float64 -> float32 -> float64',
    inputs: () => [normal(3, 4)],
    f: (x) => x.cast('float32').mul(2).cast('float64'),
    // float32 rounding limits what finite differences can resolve
    opts: { eps: 1e-3, atol: 1e-3, rtol: 1e-3 },
  },
  { prim: 'copy', name: 'contiguous() of a transposed view', inputs: () => [normal(3, 4)], f: (x) => x.T.contiguous().mul(x.T) },
  { prim: 'sum', name: 'sum over dims [0,2]', inputs: () => [normal(2, 3, 4)], f: (x) => x.sum([0, 2]) },
  { prim: 'sum', name: 'sum of a permuted view, keepdim', inputs: () => [normal(2, 3, 4)], f: (x) => x.permute(2, 0, 1).sum(1, true) },
  { prim: 'prod', name: 'prod over dim 1', inputs: () => [uniform(0.5, 3, 4)], f: (x) => x.prod(1) },
  {
    prim: 'prod',
    name: 'prod with one and with two zeros in a row',
    inputs: () => [tensor([[1.5, 0, 2, -1], [0, 3, 0, 2], [1, 2, 3, 0.5]], f64)],
    f: (x) => x.prod(1),
  },
  { prim: 'max', name: 'max over dim 1 of a transposed view', inputs: () => [normal(4, 3)], f: (x) => x.T.max(1) },
  { prim: 'max', name: 'max with a two-way tie', inputs: () => [tensor([[1, 3, 3, 2], [5, 1, 0, 4]], f64)], f: (x) => x.max(1), noSecondOrder: TIE },
  { prim: 'min', name: 'min over all dims', inputs: () => [normal(3, 4)], f: (x) => x.min() },
  { prim: 'min', name: 'min with a two-way tie, keepdim', inputs: () => [tensor([[1, -3, -3, 2], [5, 1, 0, 4]], f64)], f: (x) => x.min(1, true), noSecondOrder: TIE },
  { prim: 'cumsum', name: 'cumsum along dim 0 of a transposed view', inputs: () => [normal(4, 3)], f: (x) => x.T.cumsum(1) },
  { prim: 'softmax', name: 'softmax along dim 0', inputs: () => [normal(3, 4)], f: (x) => x.softmax(0) },
  {
    prim: 'layerNorm',
    name: 'layerNorm over the last dim with weight and bias',
    inputs: () => [normal(3, 5), normal(5), normal(5)],
    f: (x, w, b) => layerNorm(x, 5, w, b),
  },
  {
    prim: 'layerNorm',
    name: 'layerNorm over two dims of a transposed view, no affine',
    inputs: () => [normal(4, 3, 2)],
    f: (x) => layerNorm(x.transpose(0, 2), [3, 4], null, null, 0.1),
  },
  {
    prim: 'layerNorm',
    name: 'layerNorm with a bias only (weight of ones)',
    inputs: () => [normal(2, 4), normal(4)],
    f: (x, b) => layerNorm(x, [4], null, b),
  },
  { prim: 'logSoftmax', name: 'logSoftmax along the last dim of a transposed view', inputs: () => [normal(4, 3)], f: (x) => x.T.logSoftmax(-1) },
  {
    prim: 'matmul',
    name: 'matmul of 2-D operands stored transposed (x.T @ w.T: gradients computed transposed)',
    inputs: () => [normal(4, 3), normal(5, 4)],
    f: (x, w) => x.T.matmul(w.T),
  },
  {
    prim: 'matmul',
    name: 'matmul broadcasting batch [2,1] with [3] and a transposed operand',
    inputs: () => [normal(2, 1, 3, 4), normal(3, 2, 4)],
    f: (a, b) => a.matmul(b.transpose(-1, -2)),
  },
  { prim: 'matmul', name: 'matrix @ vector', inputs: () => [normal(3, 4), normal(4)], f: (a, b) => a.matmul(b) },
  {
    prim: 'conv2d',
    name: 'conv2d stride 2, padding 1, groups 2',
    inputs: () => [normal(2, 4, 5, 5), normal(4, 2, 3, 3)],
    f: (x, w) => x.conv2d(w, { stride: 2, padding: 1, groups: 2 }),
  },
  {
    prim: 'conv2d',
    name: 'conv2d dilation 2 with bias on a permuted input',
    inputs: () => [normal(1, 6, 6, 2), normal(3, 2, 2, 2), normal(3)],
    f: (x, w, b) => x.permute(0, 3, 1, 2).conv2d(w, { dilation: 2, bias: b }),
  },
  {
    prim: 'conv2dGradInput',
    name: 'convTranspose2d stride 2, padding 1, outputPadding 1, groups 2',
    inputs: () => [normal(1, 4, 3, 3), normal(4, 1, 3, 3)],
    f: (x, w) => convTranspose2d(x, w, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
  },
  {
    prim: 'conv2dGradWeight',
    name: 'conv2dGradWeight stride 2, padding 1, groups 2',
    inputs: () => [normal(2, 4, 5, 5), normal(2, 4, 3, 3)],
    f: (x, gy) => runKernel('conv2dGradWeight', [x, gy], { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 2 }, [4, 2, 3, 3], x.dtype),
  },
  {
    prim: 'gather',
    name: 'gather along dim 0 with repeated indices',
    inputs: () => [normal(3, 4), int([[0, 2, 2, 1], [0, 0, 1, 2]])],
    f: (x, i) => x.gather(0, i),
  },
  {
    prim: 'gather',
    name: 'indexSelect (gather with a stride-0 index) of a transposed view',
    inputs: () => [normal(4, 3)],
    f: (x) => x.T.indexSelect(1, tensor(new Int32Array([3, 0, 3]))),
  },
  {
    prim: 'gather',
    name: 'maxPool2d (gather at maxPool2dIndices)',
    inputs: () => [normal(1, 2, 5, 5)],
    f: (x) => x.maxPool2d(3, { stride: 2, padding: 1 }),
  },
  {
    prim: 'scatterAdd',
    name: 'scatterAdd with repeated indices and an index smaller than src',
    inputs: () => [normal(3, 4), int([[0, 2, 0], [2, 2, 1]]), normal(2, 4)],
    f: (x, i, s) => x.scatterAdd(0, i, s),
  },
  {
    prim: 'cat',
    name: 'cat along dim 1 with a transposed part',
    inputs: () => [normal(2, 3), normal(4, 2), normal(2, 1)],
    f: (a, b, c) => cat([a, b.T, c], 1),
  },
  {
    prim: 'sliceScatter',
    name: 'sliceScatter into a strided region',
    inputs: () => [normal(4, 5), normal(2, 2)],
    f: (base, src) => sliceScatter(base, src, [1, 0], [2, 3]),
  },
  {
    prim: 'sliceScatter',
    name: 'pad (sliceScatter into a constant tensor)',
    inputs: () => [normal(2, 3)],
    f: (x) => pad(x.T, [1, 2, 0, 1]),
  },
  // the second input of these cases is a fixed weight, so the outputs mix elements
  { prim: 'reshape', name: 'reshape of a transposed view (copy + view)', inputs: () => [normal(3, 4), normal(6)], f: (x, w) => x.T.reshape([2, 6]).mul(w) },
  { prim: 'reshape', name: 'unsqueeze / squeeze', inputs: () => [normal(3, 4), normal(1, 2, 1)], f: (x, w) => x.unsqueeze(1).mul(w).squeeze() },
  { prim: 'permute', name: 'permute', inputs: () => [normal(2, 3, 4), normal(4, 2, 3)], f: (x, w) => x.permute(2, 0, 1).mul(w) },
  { prim: 'expand', name: 'expand [3,1] -> [2,3,4]', inputs: () => [normal(3, 1), normal(2, 3, 4)], f: (x, w) => x.expand(2, 3, 4).mul(w) },
  { prim: 'slice', name: 'slice with a negative step', inputs: () => [normal(3, 6), normal(3, 2)], f: (x, w) => x.slice(1, 4, 0, -2).mul(w) },
  { prim: 'slice', name: 'flip and narrow', inputs: () => [normal(3, 4)], f: (x) => x.flip([0, 1]).narrow(1, 1, 2) },
];

// fixed per-case draws: inputs depend only on the seed, not on the order tests run
function inputsOf(c: Case, k: number): Tensor[] {
  manualSeed(1000 + k);
  return c.inputs();
}

describe('the rule table', () => {
  test('has a rule for every primitive, and nothing else', () => {
    const prims = [...Object.keys(cpuBackend.kernels), ...VIEWS].sort();
    expect(Object.keys(rules).sort()).toEqual(prims);
  });

  test('every differentiable primitive has a gradcheck case', () => {
    const differentiable = (Object.keys(rules) as Primitive[]).filter((p) => rules[p].differentiable !== false);
    const covered = new Set(cases.map((c) => c.prim));
    expect(differentiable.filter((p) => !covered.has(p))).toEqual([]);
  });
});

describe('gradcheck of every differentiable primitive', () => {
  test.each(cases.map((c, k) => [c.name, c, k] as const))('%s', (_name, c, k) => {
    const inputs = inputsOf(c, k);
    const seen = new Set<Primitive>();
    trace.onRecord = (p) => void seen.add(p);
    let report;
    try {
      report = gradcheck(c.f, inputs, c.opts);
    } finally {
      trace.onRecord = null;
    }
    expect(seen.has(c.prim), `the case records '${c.prim}' (saw ${[...seen].join(', ')})`).toBe(true);
    expect(report.ok, report.message).toBe(true);
  });
});

describe('second-order gradcheck (gradient rules are differentiable)', () => {
  const second = cases.filter((c) => !c.noSecondOrder && !c.opts);
  test.each(second.map((c) => [c.name, c, cases.indexOf(c)] as const))('%s', (_name, c, k) => {
    const inputs = inputsOf(c, k);
    const argnums = inputs.map((t, i) => (t.dtype === 'float64' ? i : -1)).filter((i) => i >= 0);
    manualSeed(7);
    const shape = c.f(...inputs).shape;
    const r = randn([...shape], f64);
    // x -> d<f(x), r>/dx for every float input, flattened and joined: its Jacobian is a Hessian
    const df = (...xs: Tensor[]): Tensor => {
      const gs = grad((...a: Tensor[]) => c.f(...a).mul(r).sum(), { argnums })(...xs);
      return cat(gs.map((g) => g.reshape([-1])));
    };
    const report = gradcheck(df, inputs);
    expect(report.ok, report.message).toBe(true);
  });
});
