import { noGrad } from '@dl/autograd';
import { DLError, cat, foreachNorm, scope, type Tensor } from '@dl/tensor';
import { checkNumber } from '../args.js';

/**
 * Scales all gradients together so their joint norm is at most `maxNorm` (in place) and returns
 * the norm before clipping as a 0-d tensor. No read-back: it works on every device.
 *
 *   clipGradNorm(model.parameters(), 1.0);
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType: number = 2): Tensor {
  // a negative maxNorm would flip every gradient's sign; a normType <= 0 is no norm
  checkNumber('clipGradNorm', 'maxNorm', maxNorm);
  if (!(typeof normType === 'number' && normType > 0)) throw new DLError('clipGradNorm', `normType must be a positive number or Infinity, got ${normType}`);
  const grads = [...params].map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (!grads.length) throw new DLError('clipGradNorm', 'no parameter has a gradient; call backward() first');
  return noGrad(() =>
    scope(() => {
      // each gradient's norm in one op per device and dtype (PyTorch's _foreach_norm), then the
      // norm of those norms, on the first gradient's device
      const groups = new Map<string, Tensor[]>();
      for (const g of grads) {
        const key = `${g.device}:${g.dtype}`;
        const group = groups.get(key);
        if (group) group.push(g);
        else groups.set(key, [g]);
      }
      const first = grads[0];
      const norms = [...groups.values()].map((gs) => {
        const n = foreachNorm(gs, normType);
        return groups.size === 1 ? n : n.to(first.device).cast(first.dtype);
      });
      const total = foreachNorm(norms.length === 1 ? norms : [cat(norms)], normType).reshape([]);
      // the same clamped coefficient as PyTorch: grads are untouched when the norm is small
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(undefined, 1);
      for (const g of grads) g.mul_(coef);
      return total;
    }),
  );
}
