import type { AdamHyper } from '../backend.js';
import { DLError, fmt } from '../errors.js';
import { isRecording } from '../dispatch.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';

/**
 * One Adam step in place, as one fused pass where the device has a kernel for it (PyTorch's
 * `fused=True`): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g², p = decay p - stepSize m / (√v / sqrtBc2 + eps)
 * (decay = 1 - lr * weightDecay is AdamW's decoupled decay).
 * Returns false, having written nothing, when it does not apply (no fused kernel on this device,
 * not float32, strided views, or a buffer the kernel cannot bind); callers then run the same
 * update as separate ops. L2 weight decay, maximize and amsgrad are the caller's.
 *
 *   if (!adamStep_(p, grad, m, v, { beta1: 0.9, beta2: 0.999, stepSize, sqrtBc2, eps: 1e-8, decay: 1 })) ...
 */
export function adamStep_(p: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamHyper): boolean {
  const ts = [p, grad, m, v];
  if (isRecording() && ts.some((t) => t.requiresGrad)) {
    throw new DLError('adamStep_', `tensor ${fmt(p.shape)} requires grad; in-place updates of it must run inside noGrad()`);
  }
  const backend = p.storage.backend;
  if (!backend.adamStep) return false;
  if (ts.some((t) => t.device !== p.device || t.dtype !== 'float32' || !t.isContiguous() || !shapesEqual(t.shape, p.shape))) return false;
  if (!backend.adamStep(p.info(), grad.info(), m.info(), v.info(), h)) return false;
  for (const t of [p, m, v]) t.storage.version++;
  return true;
}
