import type { OutInfo } from '../backend.js';
import { takeArray } from '../cpu/pool.js';
import { kernelChoice } from '../cpu/select.js';
import { defineOp, wgslGrid, wgslWorkgroupSum, type CustomOp, type HostInput, type KernelInput, type WgslProgram } from '../custom-op.js';
import { DTypeError, ShapeError, fmt } from '../errors.js';
import { normDim, shapesEqual, sizeOf } from '../shape.js';

// The backward of softmax and logSoftmax as one op (PyTorch's _softmax_backward_data and
// _log_softmax_backward_data): the composed rule ran four kernels over the rows (a product, a row
// sum, a difference and a product, or exp, a sum, a product and a difference).

export interface SoftmaxGradAttrs {
  /** the softmax's dim */
  dim: number;
  /** logSoftmax's gradient (g - exp(y) sum g) rather than softmax's (y (g - sum g y)) */
  log: boolean;
}

const NAME = 'softmaxGrad';
const WG = 64;

/** [outer, len, inner] of a contiguous shape along dim: element (o, k, i) at (o len + k) inner + i */
function rowsOf(shape: readonly number[], dim: number): [number, number, number] {
  const d = shape.length ? normDim(NAME, dim, shape.length) : 0;
  const len = shape.length ? shape[d] : 1;
  return [shape.slice(0, d).reduce((a, b) => a * b, 1), len, shape.slice(d + 1).reduce((a, b) => a * b, 1)];
}

/** float64 sums and arithmetic, rounded once into the result's dtype */
function gradJs([g, y]: readonly HostInput[], { dim, log }: SoftmaxGradAttrs, out: OutInfo): Float32Array | Float64Array {
  const r = takeArray(out.dtype, sizeOf(out.shape), false) as Float32Array | Float64Array;
  const [outer, len, inner] = rowsOf(out.shape, dim);
  const gs = g.data, ys = y.data;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let s = 0;
      for (let k = 0, p = base; k < len; k++, p += inner) s += log ? gs[p] : gs[p] * ys[p];
      if (log) for (let k = 0, p = base; k < len; k++, p += inner) r[p] = gs[p] - Math.exp(ys[p]) * s;
      else for (let k = 0, p = base; k < len; k++, p += inner) r[p] = ys[p] * (gs[p] - s);
    }
  }
  return r;
}

function gradWgsl(out: OutInfo, { dim, log }: SoftmaxGradAttrs): WgslProgram {
  const [outer, len, inner] = rowsOf(out.shape, dim);
  const rows = outer * inner;
  const code = `@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct Params { rows: u32, len: u32, inner: u32 }
@group(0) @binding(3) var<uniform> p: Params;
${wgslWorkgroupSum(WG)}

// one workgroup a row: (o, i) = (row / inner, row % inner), element k at (o len + k) inner + i
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nw.x;
  let live = row < p.rows;
  let base = (row / p.inner) * p.len * p.inner + row % p.inner;
  var s = 0.0;
  if (live) { for (var k = lid; k < p.len; k += ${WG}u) { let q = base + k * p.inner; s += ${log ? 'g[q]' : 'g[q] * y[q]'}; } }
  let total = reduce(s, lid);
  if (!live) { return; }
  for (var k = lid; k < p.len; k += ${WG}u) {
    let q = base + k * p.inner;
    out[q] = ${log ? 'g[q] - exp(y[q]) * total' : 'y[q] * (g[q] - total)'};
  }
}`;
  return {
    passes: [
      {
        code,
        workgroups: wgslGrid(rows),
        params: [
          ['u32', rows],
          ['u32', len],
          ['u32', inner],
        ],
      },
    ],
  };
}

/**
 * The gradient of `softmax(x, dim)` (log false: y (g - Σ g y)) or `logSoftmax(x, dim)` (log true:
 * g - exp(y) Σ g) from its output y and the output's gradient g, sums along dim, in one kernel.
 * float32 (CPU and WebGPU) or float64 (CPU). Not differentiable: autograd's softmax rules run it
 * only when the gradient is not itself recorded (createGraph composes the formula instead).
 *
 *   softmaxGrad([g, y], { dim: -1, log: false }); // = y.mul(g.sub(g.mul(y).sum(-1, true)))
 */
export const softmaxGrad: CustomOp<SoftmaxGradAttrs, 2> = defineOp<SoftmaxGradAttrs, 2>({
  name: NAME,
  inputs: 2,
  differentiable: false,
  inferOutput: ([g, y], { dim }) => {
    if (!shapesEqual(g.shape, y.shape)) throw new ShapeError(NAME, `g ${fmt(g.shape)} and y ${fmt(y.shape)} must have one shape`);
    if (g.dtype !== y.dtype || (y.dtype !== 'float32' && y.dtype !== 'float64')) {
      throw new DTypeError(NAME, `g and y must be float32 (or float64 on CPU) of one dtype; got g ${g.dtype} ${fmt(g.shape)}, y ${y.dtype} ${fmt(y.shape)}`);
    }
    if (y.ndim) normDim(NAME, dim, y.ndim);
    return { shape: y.shape, dtype: y.dtype };
  },
  cpu: (inputs, attrs, out) => {
    const [g, y] = inputs;
    const [, len, inner] = rowsOf(out.shape, attrs.dim);
    const fast = kernelChoice().softmaxGradRows;
    if (fast && inner === 1 && len > 0 && out.dtype === 'float32' && sizeOf(out.shape) >= 64 && g.data instanceof Float32Array && y.data instanceof Float32Array) {
      const r = takeArray('float32', sizeOf(out.shape), false) as Float32Array;
      fast(attrs.log, g.data, y.data, r, sizeOf(out.shape) / len, len);
      return r;
    }
    return gradJs(inputs, attrs, out);
  },
  wgsl: (_inputs: readonly KernelInput[], attrs, out) => gradWgsl(out, attrs),
});
