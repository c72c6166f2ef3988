import { arange, eq, exp, flip, layerNorm, logicalAnd, permute, prod, reshape, softmaxGrad, sum, where, type Tensor } from '@dl/tensor';
import { gradMode, runKernel, type KernelPrimitive } from '@dl/tensor/internal';
import { nonDifferentiable, type GradRule } from './types.js';

/** `shape` with the reduced dims kept as 1 */
function keptShape(shape: readonly number[], dims: readonly number[]): number[] {
  return shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

type Reduction = Extract<KernelPrimitive, 'sum' | 'prod' | 'max' | 'min' | 'argmax' | 'argmin' | 'cumsum' | 'softmax' | 'logSoftmax'>;

export const reduceRules: { [P in Reduction]: GradRule<P> } = {
  sum: {
    backward: (g, { attrs, inputs: [x] }) => [reshape(g, keptShape(x.shape, attrs.dims)).expand([...x.shape])],
  },
  // d prod / d x_i = product of the other entries of x_i's group, computed without dividing by
  // zero. Recording (createGraph), it is an explicit product over the group with x_i replaced by
  // 1 — O(n²) per group, but its own derivative is right at zeros too. Otherwise: prod / x_i
  // with no zero in the group, the product of the non-zeros at a lone zero, else 0.
  prod: {
    save: ([x]) => [x],
    backward: (g, { attrs: { dims }, saved: [x] }) => {
      if (dims.length === 0) return [g];
      const gk = reshape(g, keptShape(x.shape, dims));
      if (gradMode.enabled) return [gk.mul(productOfOthers(x, dims))];
      const isZero = eq(x, 0);
      const nonZero = where(isZero, 1, x);
      const p = prod(nonZero, dims, true);
      const zeros = sum(isZero, dims, true);
      return [gk.mul(where(eq(zeros, 0), p.div(nonZero), where(logicalAnd(eq(zeros, 1), isZero), p, 0)))];
    },
  },
  // amax semantics: the gradient is shared evenly among tied extremes
  max: {
    save: ([x], out) => [x, out],
    backward: (g, { attrs, saved: [x, y] }) => [shareAmongTies(g, x, y, attrs.dims)],
  },
  min: {
    save: ([x], out) => [x, out],
    backward: (g, { attrs, saved: [x, y] }) => [shareAmongTies(g, x, y, attrs.dims)],
  },
  argmax: nonDifferentiable(),
  argmin: nonDifferentiable(),
  // the adjoint of a running sum is the running sum from the other end
  cumsum: {
    backward: (g, { attrs: { dim } }) => [g.ndim === 0 ? g : flip(flip(g, dim).cumsum(dim), dim)],
  },
  // y (g - Σ g y): one kernel (softmaxGrad), composed where the gradient is recorded (createGraph)
  softmax: {
    save: (_inputs, out) => [out],
    backward: (g, { attrs: { dim }, saved: [y] }) => [fusedSoftmaxGrad(g, y) ? softmaxGrad([g, y], { dim, log: false }) : y.mul(g.sub(g.mul(y).sum(dim, true)))],
  },
  // g - softmax Σ g, likewise
  logSoftmax: {
    save: (_inputs, out) => [out],
    backward: (g, { attrs: { dim }, saved: [y] }) => [fusedSoftmaxGrad(g, y) ? softmaxGrad([g, y], { dim, log: true }) : g.sub(exp(y).mul(g.sum(dim, true)))],
  },
};

/** softmaxGrad runs: not recording (createGraph differentiates the composed form), on a dtype it takes (float32; float64 on the CPU) */
function fusedSoftmaxGrad(g: Tensor, y: Tensor): boolean {
  return !gradMode.enabled && g.dtype === y.dtype && (y.dtype === 'float32' || (y.dtype === 'float64' && y.device === 'cpu'));
}

function shareAmongTies(g: Tensor, x: Tensor, y: Tensor, dims: number[]): Tensor {
  const keep = keptShape(x.shape, dims);
  const mask = eq(x, reshape(y, keep)).cast(g.dtype);
  return reshape(g, keep).mul(mask.div(mask.sum(dims, true)));
}

/** For each entry, the product of the other entries of its group (the reduced dims). */
function productOfOthers(x: Tensor, dims: number[]): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const order = [...kept, ...dims];
  const xp = permute(x, order); // (...kept, ...dims)
  const n = dims.reduce((k, d) => k * x.shape[d], 1);
  const rows = xp.reshape([-1, n]); // (R, n)
  const idx = arange(0, n, 1, { device: x.device });
  const diagonal = eq(idx.reshape([n, 1]), idx.reshape([1, n])); // (n, n)
  const others = where(diagonal, 1, rows.unsqueeze(1).expand([rows.shape[0], n, n])).prod(2); // (R, n)
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  return permute(others.reshape([...xp.shape]), inverse);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * With xhat = (x - mean) * rstd per row (the dims from `axis`) and gh = g * weight:
 *   dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)),  dweight = Σ_batch g * xhat,  dbias = Σ_batch g.
 * dx is one fused kernel (layerNormGradInput); recording (createGraph), it is composed of
 * differentiable ops instead, so second derivatives work. xhat is recomputed by the fused forward
 * kernel, cheaper than keeping it.
 */
export const normRules: { layerNorm: GradRule<'layerNorm'>; layerNormGradInput: GradRule<'layerNormGradInput'> } = {
  layerNorm: {
    save: ([x, weight], _out, _attrs, needs) => [x, weight && needs[0] ? weight : null],
    backward: (g, { attrs: { axis, eps }, saved: [x, weight], inputs, needs }) => {
      const batchDims = range(0, axis);
      const w = inputs.length > 1 ? weight : null;
      const xhat = needs[1] || (needs[0] && gradMode.enabled) ? layerNorm(x, x.shape.slice(axis), null, null, eps) : null;
      let gx: Tensor | null = null;
      if (needs[0] && gradMode.enabled) {
        const rowDims = range(axis, x.ndim);
        const gh = w ? g.mul(w) : g;
        const rstd = x.var(rowDims, false, true).add(eps).rsqrt();
        gx = rstd.mul(gh.sub(gh.mean(rowDims, true)).sub(xhat!.mul(gh.mul(xhat!).mean(rowDims, true))));
      } else if (needs[0]) {
        gx = runKernel('layerNormGradInput', w ? [g, x, w] : [g, x], { axis, eps }, x.shape, x.dtype);
      }
      const gw = inputs.length > 1 && needs[1] ? g.mul(xhat!).sum(batchDims) : null;
      const gb = inputs.length > 2 && needs[2] ? g.sum(batchDims) : null;
      return [gx, gw, gb].slice(0, inputs.length);
    },
  },
  // a backward kernel: layerNorm's rule runs it only when the gradient is not itself recorded
  layerNormGradInput: nonDifferentiable(),
};
