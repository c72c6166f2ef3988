import type { OutInfo } from '../backend.js';
import { kernelElementwise } from '../cpu/elementwise.js';
import { map } from '../cpu/map.js';
import { GELU_GRAD, SILU_GRAD } from '../cpu/math.js';
import { takeArray } from '../cpu/pool.js';
import { defineOp, wgslGrid, wgslStorageType, type CustomOp, type KernelInput, type WgslProgram } from '../custom-op.js';
import { DTypeError, ShapeError, fmt } from '../errors.js';
import { contiguousStrides, isContiguousLayout, shapesEqual, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { zerosLike } from './creation.js';
import { exp, sigmoid, tanh } from './elementwise.js';
import { WGSL_ERF } from './wgsl-math.js';

// The backward of gelu and silu are custom ops (defineOp), the way a package adds a fused kernel:
// no entry in the primitive table, the backends' kernel tables or autograd's rule table. Each is
// g * f'(x) in one pass where the composed rule would run five to seven elementwise kernels.

type Approximate = 'none' | 'tanh';

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_PI = Math.sqrt(2 / Math.PI);
const A = 0.044715;
const WG = 256;

interface ActivationGrad<Attrs> {
  name: string;
  /** the scalar g * f'(x) for a float dtype's results */
  scalar: (attrs: Attrs, dtype: string) => (g: number, x: number) => number;
  /** the CPU kernels' elementwise op computing it (float32 SIMD), or null for none */
  kernelOp: (attrs: Attrs) => string | null;
  /**
   * WGSL helper functions, statements before the store, and the f32 expression of f'(x) in `x`
   * (the result is g * f'(x)), or `value`, the whole f32 result in `g` and `x` where it is not a product
   */
  wgsl: (attrs: Attrs) => { helpers: string; prelude?: string; derivative?: string; value?: string };
  /** f''(x), composed from differentiable ops (the second-order part of the rule) */
  second: (x: Tensor, attrs: Attrs) => Tensor;
  /**
   * Where there is no SIMD kernel: a loop over contiguous float32 g and x (from offsets go, xo)
   * into r, the scalar's results without a call an element (the shared strided loop calls the
   * scalar function through a megamorphic site)
   */
  contiguous?: (attrs: Attrs) => (g: Float32Array, go: number, x: Float32Array, xo: number, r: Float32Array) => void;
}

/**
 * One thread per element over n elements: each input `name` (bound as `<name>in`) is read into an
 * f32 local `name`, then `value`, an f32 expression of them, is stored as the dtype (f16 for
 * float16). The activation grads and leakyRelu's forward are all this shape of kernel.
 */
export function elementwiseWgsl(dtype: KernelInput['dtype'], names: readonly string[], n: number, value: string, helpers = '', prelude = ''): WgslProgram {
  const T = wgslStorageType(dtype);
  const code = `${T === 'f16' ? 'enable f16;\n' : ''}
${names.map((nm, i) => `@group(0) @binding(${i}) var<storage, read> ${nm}in: array<${T}>;`).join('\n')}
@group(0) @binding(${names.length}) var<storage, read_write> out: array<${T}>;
struct Params { n: u32 }
@group(0) @binding(${names.length + 1}) var<uniform> params: Params;

${helpers}

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
  if (i >= params.n) { return; }
${names.map((nm) => `  let ${nm} = f32(${nm}in[i]);`).join('\n')}
${prelude}  out[i] = ${T}(${value});
}
`;
  return { passes: [{ code, workgroups: wgslGrid(Math.ceil(n / WG)), params: [['u32', n]] }] };
}

/** out = g * f'(x) (or the spec's own `value`), computed in f32. */
function wgslProgram({ helpers, prelude = '', derivative, value }: ReturnType<ActivationGrad<never>['wgsl']>, [g]: readonly KernelInput[], out: OutInfo): WgslProgram {
  return elementwiseWgsl(g.dtype, ['g', 'x'], sizeOf(out.shape), value ?? `g * (${derivative})`, helpers, prelude);
}

/** The custom op `name([g, x], attrs)` = g * f'(x), differentiable through its own rule. */
function activationGrad<Attrs extends Record<string, unknown>>(spec: ActivationGrad<Attrs>): CustomOp<Attrs, 2> {
  const { name } = spec;
  const op: CustomOp<Attrs, 2> = defineOp<Attrs, 2>({
    name,
    inputs: 2,
    inferOutput: ([g, x]) => {
      if (!shapesEqual(g.shape, x.shape)) throw new ShapeError(name, `g ${fmt(g.shape)} and x ${fmt(x.shape)} must have one shape`);
      if (g.dtype !== x.dtype || (x.dtype !== 'float32' && x.dtype !== 'float64' && x.dtype !== 'float16')) {
        throw new DTypeError(name, `g and x must be float tensors of one dtype; got g ${g.dtype} ${fmt(g.shape)}, x ${x.dtype} ${fmt(x.shape)}`);
      }
      return { shape: x.shape, dtype: x.dtype };
    },
    // the CPU's strided elementwise loop reads broadcast and transposed gradients without a copy
    strided: { cpu: true },
    cpu: (inputs, attrs, out) => {
      // contiguous float32: the SIMD kernel where the selected CPU kernels have one for this op
      const kop = spec.kernelOp(attrs);
      const fast = kop === null ? null : kernelElementwise(kop, inputs, out);
      if (fast) return fast;
      const r = takeArray(out.dtype, sizeOf(out.shape), false);
      const [g, x] = inputs;
      if (spec.contiguous && out.dtype === 'float32' && inputs.every((t) => isContiguousLayout(t.shape, t.strides))) {
        spec.contiguous(attrs)(g.data as Float32Array, g.offset, x.data as Float32Array, x.offset, r as Float32Array);
        return r;
      }
      map(spec.scalar(attrs, out.dtype), out.shape, { data: r, strides: contiguousStrides(out.shape), offset: 0 }, [...inputs], true);
      return r;
    },
    wgsl: (inputs, attrs, out) => wgslProgram(spec.wgsl(attrs), inputs, out),
    save: ([g, x], _out, _attrs, [, needsX]) => [needsX ? g : null, x],
    // d/dg = f'(x): the op itself on the incoming gradient; d/dx = g * f''(x)
    backward: (gg, { saved: [g, x], attrs, needs: [needsG, needsX] }) => [
      needsG ? op([gg, x], attrs) : null,
      needsX ? gg.mul(g).mul(spec.second(x, attrs)) : null,
    ],
  });
  return op;
}

/** gelu''(x) for either form. */
function geluSecond(x: Tensor, approximate: Approximate): Tensor {
  if (approximate === 'none') {
    // d/dx (Φ(x) + x φ(x)) = φ(x) (2 - x²)
    return exp(x.mul(x).mul(-0.5)).mul(INV_SQRT_2PI).mul(x.mul(x).neg().add(2));
  }
  // 0.5 x (1 + t), t = tanh(u), u = √(2/π)(x + a x³): gelu'' = (1 - t²)(u' - x t u'² + x u''/2)
  const x2 = x.mul(x);
  const t = tanh(x.add(x2.mul(x).mul(A)).mul(SQRT_2_PI));
  const du = x2.mul(3 * A).add(1).mul(SQRT_2_PI);
  const d2u = x.mul(6 * A * SQRT_2_PI);
  return t.mul(t).neg().add(1).mul(du.sub(x.mul(t).mul(du).mul(du)).add(x.mul(d2u).mul(0.5)));
}

/**
 * g * gelu'(x) in one kernel: the backward of `gelu` (approximate 'none') and of its tanh form.
 * Differentiable (its own rule), so second-order gradients of gelu go through it too.
 *
 *   geluGrad([ones([3]), tensor([-1, 0, 1])]).toArray(); // [-0.0833, 0.5, 1.0833]
 */
export const geluGrad: CustomOp<{ approximate: Approximate }, 2> = activationGrad<{ approximate: Approximate }>({
  name: 'geluGrad',
  scalar: ({ approximate }) => GELU_GRAD[approximate],
  kernelOp: ({ approximate }) => (approximate === 'none' ? 'geluGrad' : 'geluTanhGrad'),
  wgsl: ({ approximate }) =>
    approximate === 'none'
      ? { helpers: WGSL_ERF, derivative: `0.5 * (1.0 + erf_(x * ${SQRT1_2})) + x * exp(-0.5 * x * x) * ${INV_SQRT_2PI}` }
      : {
          // tanh through exp overflows for large |x| on some drivers
          helpers: 'fn tanh_(x: f32) -> f32 {\n  if (abs(x) > 15.0) { return sign(x); }\n  return tanh(x);\n}',
          prelude: `  let t = tanh_(${SQRT_2_PI} * (x + ${A} * x * x * x));\n`,
          derivative: `0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * ${SQRT_2_PI} * (1.0 + ${3 * A} * x * x)`,
        },
  second: (x, { approximate }) => geluSecond(x, approximate),
});

/**
 * g * silu'(x) = g s (1 + x (1 - s)), s = sigmoid(x), in one kernel: the backward of `silu`.
 * Differentiable (its own rule), so second-order gradients of silu go through it too.
 *
 *   siluGrad([ones([3]), tensor([-1, 0, 1])]).toArray(); // [0.0723, 0.5, 0.9277]
 */
export const siluGrad: CustomOp<Record<string, never>, 2> = activationGrad<Record<string, never>>({
  name: 'siluGrad',
  scalar: (_attrs, dtype) => (dtype === 'float64' ? SILU_GRAD.f64 : SILU_GRAD.f32),
  kernelOp: () => 'siluGrad',
  wgsl: () => ({
    // exp(-x) is inf for x < -88: s is 0 then, and 1 / (1 + inf) gives it without a NaN
    helpers: '',
    prelude: '  let s = 1.0 / (1.0 + exp(-x));\n',
    derivative: 's * (1.0 + x * (1.0 - s))',
  }),
  // silu'' = s (1 - s) (2 + x (1 - 2 s))
  second: (x) => {
    const s = sigmoid(x);
    return s.mul(s.neg().add(1)).mul(x.mul(s.mul(-2).add(1)).add(2));
  },
});

/**
 * g where y > 0, else 0, in one kernel: the backward of `relu` from its output y (PyTorch's
 * `threshold_backward(g, y, 0)`; a NaN or infinite g where y <= 0 still gives 0). Differentiable
 * (its own rule: relu'' = 0), where the composed rule ran a comparison and a `where`.
 *
 *   reluGrad([ones([3]), tensor([0, 0.5, 2])]).toArray(); // [0, 1, 1]
 */
export const reluGrad: CustomOp<Record<string, never>, 2> = activationGrad<Record<string, never>>({
  name: 'reluGrad',
  scalar: () => (g, y) => (y > 0 ? g : 0),
  kernelOp: () => 'reluGrad',
  wgsl: () => ({ helpers: '', value: 'select(0.0, g, x > 0.0)' }),
  second: (y) => zerosLike(y),
});

/** `v` as a WGSL f32 literal (always with a decimal point or an exponent). */
export const wgslF32 = (v: number): string => (Number.isInteger(v) ? v.toFixed(1) : String(v));

/**
 * A scalar function per (slope, dtype), made once (the CPU's compiled elementwise loops are cached
 * by function), from the factors [slope, 1] indexed by the sign test: no branch on the data, which
 * on mixed signs mispredicts half the time (4-5x slower). The slope is rounded to the dtype
 * first, as `x.mul(slope)` rounds its scalar, so the products are those of the composed form.
 */
export function perSlope<F>(cache: Map<string, F>, slope: number, dtype: string, make: (factor: Float64Array) => F): F {
  const key = `${slope} ${dtype}`;
  let f = cache.get(key);
  if (!f) cache.set(key, (f = make(Float64Array.of(dtype === 'float64' ? slope : Math.fround(slope), 1))));
  return f;
}
const leakyGradFns = new Map<string, (g: number, x: number) => number>();
const leakyGradLoops = new Map<string, (g: Float32Array, go: number, x: Float32Array, xo: number, r: Float32Array) => void>();

/**
 * g where x > 0, else g * negativeSlope, in one kernel: the backward of `leakyRelu` (PyTorch's
 * `leaky_relu_backward`). Differentiable (its own rule: leakyRelu'' = 0).
 *
 *   leakyReluGrad([ones([2]), tensor([-1, 1])], { negativeSlope: 0.2 }).toArray(); // [0.2, 1]
 */
export const leakyReluGrad: CustomOp<{ negativeSlope: number }, 2> = activationGrad<{ negativeSlope: number }>({
  name: 'leakyReluGrad',
  scalar: ({ negativeSlope }, dtype) => perSlope(leakyGradFns, negativeSlope, dtype, (k) => (g, x) => g * k[+(x > 0)]),
  kernelOp: () => null,
  // the scalar form's factors (perSlope), in a loop of its own
  contiguous: ({ negativeSlope }) =>
    perSlope(leakyGradLoops, negativeSlope, 'float32', (k) => (g, go, x, xo, r) => {
      for (let i = 0; i < r.length; i++) r[i] = g[go + i] * k[+(x[xo + i] > 0)];
    }),
  wgsl: ({ negativeSlope }) => ({ helpers: '', value: `select(g * ${wgslF32(negativeSlope)}, g, x > 0.0)` }),
  second: (x) => zerosLike(x),
});
