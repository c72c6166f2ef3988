import { DLError, type Tensor } from '@dl/tensor';
import { Optimizer, type BaseOptions, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

export interface SGDOptions extends BaseOptions {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/**
 * Stochastic gradient descent with optional momentum (PyTorch's formulation: the buffer
 * accumulates gradients, lr multiplies the buffer), Nesterov momentum and L2 weight decay.
 *
 *   const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Iterable<Tensor> | ParamGroupInput<SGDOptions>[], opts: Partial<SGDOptions> & { lr: number }) {
    const o: SGDOptions = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...opts };
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw new DLError('SGD', 'nesterov momentum needs momentum > 0 and dampening 0');
    super(params, o);
  }

  protected update(p: Tensor, grad: Tensor, g: ParamGroup<SGDOptions>, st: ParamState): void {
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay) d = d.add(p.mul(g.weightDecay));
    if (g.momentum) {
      let buf = st.momentum_buffer as Tensor | undefined;
      if (!buf) buf = this.keepState(st, 'momentum_buffer', d.clone());
      else buf.copy_(buf.mul(g.momentum).add(d.mul(1 - g.dampening)));
      d = g.nesterov ? d.add(buf.mul(g.momentum)) : buf;
    }
    p.sub_(d.mul(g.lr));
  }
}
