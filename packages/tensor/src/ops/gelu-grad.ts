import type { OutInfo } from '../backend.js';
import { map } from '../cpu/map.js';
import { GELU_GRAD } from '../cpu/math.js';
import { takeArray } from '../cpu/pool.js';
import { defineOp, wgslStorageType, type CustomOp, type KernelInput, type WgslProgram } from '../custom-op.js';
import { DTypeError, ShapeError, fmt } from '../errors.js';
import { contiguousStrides, shapesEqual, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { exp, tanh } from './elementwise.js';
import { WGSL_ERF } from './wgsl-math.js';

// gelu's backward is a custom op (defineOp), the way a package adds a fused kernel: no entry in
// the primitive table, the backends' kernel tables or autograd's rule table.

type Approximate = 'none' | 'tanh';

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_PI = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** gelu''(x), composed from differentiable ops (the second-order part of geluGrad's rule). */
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

const WG = 256;

/** One thread per element: out = g * gelu'(x), computed in f32 (stored as f16 for float16). */
function geluGradWgsl([g]: readonly KernelInput[], { approximate }: { approximate: Approximate }, out: OutInfo): WgslProgram {
  const T = wgslStorageType(g.dtype);
  const n = sizeOf(out.shape);
  const groups = Math.ceil(n / WG);
  // x is capped at 65535 workgroups; the rest go along y
  const gy = Math.ceil(groups / 65535);
  const d =
    approximate === 'none'
      ? `0.5 * (1.0 + erf_(x * ${SQRT1_2})) + x * exp(-0.5 * x * x) * ${INV_SQRT_2PI}`
      : `0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * ${SQRT_2_PI} * (1.0 + ${3 * A} * x * x)`;
  const code = `${T === 'f16' ? 'enable f16;\n' : ''}
@group(0) @binding(0) var<storage, read> gin: array<${T}>;
@group(0) @binding(1) var<storage, read> xin: array<${T}>;
@group(0) @binding(2) var<storage, read_write> out: array<${T}>;
struct Params { n: u32 }
@group(0) @binding(3) var<uniform> params: Params;

${WGSL_ERF}

// tanh through exp overflows for large |x| on some drivers
fn tanh_(x: f32) -> f32 {
  if (abs(x) > 15.0) { return sign(x); }
  return tanh(x);
}

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
  if (i >= params.n) { return; }
  let g = f32(gin[i]);
  let x = f32(xin[i]);
${approximate === 'tanh' ? `  let t = tanh_(${SQRT_2_PI} * (x + ${A} * x * x * x));\n` : ''}  out[i] = ${T}(g * (${d}));
}
`;
  return { passes: [{ code, workgroups: [Math.ceil(groups / gy), gy], params: [['u32', n]] }] };
}

/**
 * g * gelu'(x) in one kernel: the backward of `gelu` (approximate 'none') and of its tanh form.
 * Differentiable (its own rule), so second-order gradients of gelu go through it too.
 *
 *   geluGrad([ones([3]), tensor([-1, 0, 1])]).toArray(); // [-0.0833, 0.5, 1.0833]
 */
export const geluGrad: CustomOp<{ approximate: Approximate }, 2> = defineOp<{ approximate: Approximate }, 2>({
  name: 'geluGrad',
  inputs: 2,
  inferOutput: ([g, x]) => {
    if (!shapesEqual(g.shape, x.shape)) throw new ShapeError('geluGrad', `g ${fmt(g.shape)} and x ${fmt(x.shape)} must have one shape`);
    if (g.dtype !== x.dtype || (x.dtype !== 'float32' && x.dtype !== 'float64' && x.dtype !== 'float16')) {
      throw new DTypeError('geluGrad', `g and x must be float tensors of one dtype; got g ${g.dtype} ${fmt(g.shape)}, x ${x.dtype} ${fmt(x.shape)}`);
    }
    return { shape: x.shape, dtype: x.dtype };
  },
  // the CPU's strided elementwise loop reads broadcast and transposed gradients without a copy
  strided: { cpu: true },
  cpu: (inputs, { approximate }, out) => {
    const r = takeArray(out.dtype, sizeOf(out.shape), false);
    map(GELU_GRAD[approximate], out.shape, { data: r, strides: contiguousStrides(out.shape), offset: 0 }, [...inputs], true);
    return r;
  },
  wgsl: geluGradWgsl,
  save: ([g, x], _out, _attrs, [, needsX]) => [needsX ? g : null, x],
  // d/dg = gelu'(x): geluGrad of the incoming gradient; d/dx = g * gelu''(x)
  backward: (gg, { saved: [g, x], attrs: { approximate }, needs: [needsG, needsX] }) => [
    needsG ? geluGrad([gg, x], { approximate }) : null,
    needsX ? gg.mul(g).mul(geluSecond(x, approximate)) : null,
  ],
});
