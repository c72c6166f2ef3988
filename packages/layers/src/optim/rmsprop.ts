import { zerosLike, type Tensor } from '@dl/tensor';
import { Optimizer, type BaseOptions, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

export interface RMSpropOptions extends BaseOptions {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

/**
 * RMSprop as PyTorch: a running average of squared gradients scales each step; `centered`
 * subtracts the squared running mean; `momentum` adds a buffer of scaled steps.
 *
 *   const opt = new RMSprop(model.parameters(), { lr: 1e-2 });
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Iterable<Tensor> | ParamGroupInput<RMSpropOptions>[], opts: Partial<RMSpropOptions> = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, ...opts });
  }

  protected override checkOptions(o: Partial<RMSpropOptions>, where: string): void {
    super.checkOptions(o, where);
    // PyTorch checks alpha >= 0 only; above 1 the running average goes negative and steps are NaN
    this.checkRange(o, 'alpha', where, 1);
    for (const k of ['eps', 'momentum', 'weightDecay'] as const) this.checkRange(o, k, where);
    for (const k of ['centered', 'maximize'] as const) this.checkFlag(o, k, where);
  }

  protected update(p: Tensor, grad: Tensor, g: ParamGroup<RMSpropOptions>, st: ParamState): void {
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay) d = d.add(p.mul(g.weightDecay));
    if (st.step === undefined) {
      st.step = 0;
      this.keepState(st, 'square_avg', zerosLike(p));
      if (g.momentum > 0) this.keepState(st, 'momentum_buffer', zerosLike(p));
      if (g.centered) this.keepState(st, 'grad_avg', zerosLike(p));
    }
    st.step = (st.step as number) + 1;
    const sq = st.square_avg as Tensor;
    sq.copy_(sq.mul(g.alpha).add(d.square().mul(1 - g.alpha)));
    let avg: Tensor;
    if (g.centered) {
      const ga = st.grad_avg as Tensor;
      ga.copy_(ga.mul(g.alpha).add(d.mul(1 - g.alpha)));
      avg = sq.sub(ga.square()).sqrt().add(g.eps);
    } else avg = sq.sqrt().add(g.eps);
    if (g.momentum > 0) {
      const buf = st.momentum_buffer as Tensor;
      buf.copy_(buf.mul(g.momentum).add(d.div(avg)));
      p.sub_(buf.mul(g.lr));
    } else p.sub_(d.div(avg).mul(g.lr));
  }
}
