import { layerNorm } from '@dl/tensor';
import type { GradRule } from './types.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * With xhat = (x - mean) * rstd per row (the dims from `axis`) and gh = g * weight:
 *   dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)),  dweight = Σ_batch g * xhat,  dbias = Σ_batch g.
 * xhat is recomputed with the fused kernel (cheaper than saving it); every step is a
 * differentiable op, so second derivatives work.
 */
export const normRules: { layerNorm: GradRule<'layerNorm'> } = {
  layerNorm: {
    save: ([x, weight], _out, _attrs, needs) => [x, weight && needs[0] ? weight : null],
    backward: (g, { attrs: { axis, eps }, saved: [x, weight], inputs, needs }) => {
      const rowDims = range(axis, x.ndim);
      const batchDims = range(0, axis);
      const xhat = layerNorm(x, x.shape.slice(axis), null, null, eps);
      let gx = null;
      if (needs[0]) {
        const gh = inputs.length > 1 ? g.mul(weight) : g;
        const rstd = x.var(rowDims, false, true).add(eps).rsqrt();
        gx = rstd.mul(gh.sub(gh.mean(rowDims, true)).sub(xhat.mul(gh.mul(xhat).mean(rowDims, true))));
      }
      const gw = inputs.length > 1 && needs[1] ? g.mul(xhat).sum(batchDims) : null;
      const gb = inputs.length > 2 && needs[2] ? g.sum(batchDims) : null;
      return [gx, gw, gb].slice(0, inputs.length);
    },
  },
};
