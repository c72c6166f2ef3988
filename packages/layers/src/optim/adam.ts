import { adamStep_, zerosLike, type Tensor } from '@dl/tensor';
import { checkFlag, checkNumber } from '../args.js';
import { Optimizer, checkBetas, type BaseOptions, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

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
  const decay = decoupled && g.weightDecay ? 1 - g.lr * g.weightDecay : 1;
  // one fused pass (decoupled decay included) where the device has one: CPU and WebGPU
  if (!g.maximize && !(g.weightDecay && !decoupled) && !g.amsgrad) {
    if (adamStep_(p, grad, m, v, { beta1: b1, beta2: b2, stepSize: g.lr / (1 - b1 ** t), sqrtBc2: Math.sqrt(1 - b2 ** t), eps: g.eps, decay })) return;
  }
  let d = g.maximize ? grad.neg() : grad;
  if (decay !== 1) p.mul_(decay);
  else if (g.weightDecay && !decoupled) d = d.add(p.mul(g.weightDecay));
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

/** PyTorch's checks of Adam's and AdamW's own arguments (eps, betas, weightDecay), and the flags. */
function checkAdamOptions(op: string, o: Partial<AdamOptions>, where: string): void {
  for (const k of ['eps', 'weightDecay'] as const) if (k in o) checkNumber(op, where + k, o[k]);
  if ('betas' in o) checkBetas(op, `${where}betas`, o.betas);
  for (const k of ['amsgrad', 'maximize'] as const) if (k in o) checkFlag(op, where + k, o[k]);
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
  protected override checkOptions(o: Partial<AdamOptions>, where: string): void {
    super.checkOptions(o, where);
    checkAdamOptions(this.constructor.name, o, where);
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
  protected override checkOptions(o: Partial<AdamOptions>, where: string): void {
    super.checkOptions(o, where);
    checkAdamOptions(this.constructor.name, o, where);
  }
}
