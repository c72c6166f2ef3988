import { cat, exp, silu, softplus, type Tensor } from '@dl/tensor';
import type { SelectiveScanOptions } from './selective-scan.js';

/**
 * The selective scan composed from @dl/tensor's primitives, one time step after another, as
 * state-spaces/mamba's `selective_scan_ref`: the reference the fused kernels are tested against,
 * differentiable through autograd's rules for the primitives. Slow (a handful of ops per step);
 * use `selectiveScan`.
 *
 *   const y = selectiveScanRef(u, delta, A, B, C, D, { z, deltaBias, deltaSoftplus: true }); // (batch, D, L)
 */
export function selectiveScanRef(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | null, opts: SelectiveScanOptions = {}): { y: Tensor; lastState: Tensor } {
  const { z = null, deltaBias = null, deltaSoftplus = false } = opts;
  const [batch, Dm, L] = u.shape;
  const N = A.shape[1];
  let dt = deltaBias ? delta.add(deltaBias.reshape([1, Dm, 1])) : delta; // (batch, D, L)
  if (deltaSoftplus) dt = softplus(dt);
  const step = (x: Tensor, t: number): Tensor => x.narrow(x.ndim - 1, t, 1); // (..., 1)
  // B or C at step t as (batch or 1, D or 1, N)
  const at = (M: Tensor, t: number): Tensor => (M.ndim === 3 ? step(M, t).reshape([batch, 1, N]) : M.reshape([1, Dm, N]));
  let h: Tensor | null = null; // (batch, D, N)
  const ys: Tensor[] = [];
  for (let t = 0; t < L; t++) {
    const dtT = step(dt, t); // (batch, D, 1)
    const uT = step(u, t); // (batch, D, 1)
    const dA = exp(dtT.mul(A.reshape([1, Dm, N]))); // (batch, D, N): zero-order hold
    const dBu = dtT.mul(uT).mul(at(B, t)); // (batch, D, N): Euler
    h = h ? dA.mul(h).add(dBu) : dBu;
    ys.push(h.mul(at(C, t)).sum(2, true)); // (batch, D, 1)
  }
  let y = cat(ys, 2); // (batch, D, L)
  if (D) y = y.add(u.mul(D.reshape([1, Dm, 1])));
  if (z) y = y.mul(silu(z));
  return { y, lastState: h! };
}
