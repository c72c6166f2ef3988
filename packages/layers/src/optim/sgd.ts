import { DLError, type Tensor } from '@dl/tensor';
import { checkNumber } from '../args.js';
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
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...opts });
  }

  protected override checkOptions(o: Partial<SGDOptions>, where: string): void {
    super.checkOptions(o, where);
    this.checkRange(o, 'momentum', where);
    this.checkRange(o, 'weightDecay', where);
    // PyTorch leaves dampening's range open; it must at least be a number
    if ('dampening' in o) checkNumber('SGD', `${where}dampening`, o.dampening, -Infinity);
    this.checkFlag(o, 'nesterov', where);
    this.checkFlag(o, 'maximize', where);
    // a group is checked with the defaults it inherits
    const m = o.momentum ?? this.defaults?.momentum ?? 0;
    const d = o.dampening ?? this.defaults?.dampening ?? 0;
    if ((o.nesterov ?? this.defaults?.nesterov) && (m <= 0 || d !== 0)) {
      throw new DLError('SGD', `${where}nesterov momentum needs momentum > 0 and dampening 0, got momentum ${m}, dampening ${d}`);
    }
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
