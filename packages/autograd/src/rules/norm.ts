import { gradMode, layerNorm, runKernel, type Tensor } from '@dl/tensor';
import { nonDifferentiable, type GradRule } from './types.js';

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
