import { zerosLike, type Tensor } from '@dl/tensor';
import { bumpVersions, cpuFloat32 } from './fused.js';
import { Optimizer, type BaseOptions, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

export interface AdamOptions extends BaseOptions {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

/** The Adam update shared by Adam (L2 decay in the gradient) and AdamW (decoupled decay). */
function adamStep(keepState: (st: ParamState, k: string, t: Tensor) => Tensor, p: Tensor, grad: Tensor, g: ParamGroup<AdamOptions>, st: ParamState, decoupled: boolean): void {
  const [b1, b2] = g.betas;
  let d = g.maximize ? grad.neg() : grad;
  if (g.weightDecay) {
    if (decoupled) p.mul_(1 - g.lr * g.weightDecay);
    else d = d.add(p.mul(g.weightDecay));
  }
  if (st.step === undefined) {
    st.step = 0;
    keepState(st, 'exp_avg', zerosLike(p));
    keepState(st, 'exp_avg_sq', zerosLike(p));
    if (g.amsgrad) keepState(st, 'max_exp_avg_sq', zerosLike(p));
  }
  const t = (st.step as number) + 1;
  st.step = t;
  const m = st.exp_avg as Tensor;
  const v = st.exp_avg_sq as Tensor;
  if (!g.maximize && !(g.weightDecay && !decoupled) && !g.amsgrad && fusedAdam(p, grad, m, v, g, t)) return;
  m.copy_(m.mul(b1).add(d.mul(1 - b1)));
  v.copy_(v.mul(b2).add(d.square().mul(1 - b2)));
  let vHat = v;
  if (g.amsgrad) {
    const mx = st.max_exp_avg_sq as Tensor;
    mx.copy_(mx.maximum(v));
    vHat = mx;
  }
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  // p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps), in PyTorch's order of operations
  const denom = vHat.sqrt().div(Math.sqrt(bc2)).add(g.eps);
  p.sub_(m.div(denom).mul(g.lr / bc1));
}

/** One pass over CPU float32 arrays: the same update as below (decoupled decay already applied). */
function fusedAdam(p: Tensor, grad: Tensor, m: Tensor, v: Tensor, g: ParamGroup<AdamOptions>, t: number): boolean {
  const arrays = cpuFloat32([p, grad, m, v]);
  if (!arrays) return false;
  const [pa, ga, ma, va] = arrays;
  const [b1, b2] = g.betas;
  const stepSize = g.lr / (1 - b1 ** t);
  const sqrtBc2 = Math.sqrt(1 - b2 ** t);
  const { eps } = g;
  for (let i = 0; i < pa.length; i++) {
    const gi = ga[i];
    const mi = (ma[i] = b1 * ma[i] + (1 - b1) * gi);
    const vi = (va[i] = b2 * va[i] + (1 - b2) * gi * gi);
    pa[i] -= (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
  }
  bumpVersions([p, m, v]);
  return true;
}

/**
 * Adam (Kingma & Ba) with bias correction; weightDecay adds an L2 term to the gradient.
 *
 *   const opt = new Adam(model.parameters(), { lr: 1e-3 });
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Iterable<Tensor> | ParamGroupInput<AdamOptions>[], opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...opts });
  }
  protected update(p: Tensor, grad: Tensor, g: ParamGroup<AdamOptions>, st: ParamState): void {
    adamStep((s, k, t) => this.keepState(s, k, t), p, grad, g, st, false);
  }
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weightDecay before the
 * Adam step. weightDecay defaults to 0.01 as in PyTorch.
 *
 *   const opt = new AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.1 });
 */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(params: Iterable<Tensor> | ParamGroupInput<AdamOptions>[], opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...opts });
  }
  protected update(p: Tensor, grad: Tensor, g: ParamGroup<AdamOptions>, st: ParamState): void {
    adamStep((s, k, t) => this.keepState(s, k, t), p, grad, g, st, true);
  }
}
