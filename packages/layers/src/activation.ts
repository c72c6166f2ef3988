import { DLError, logSoftmax, rand, softmax, where, type Tensor } from '@dl/tensor';
import { Module } from './module.js';

/** max(x, 0) */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** x * Phi(x); `approximate: 'tanh'` uses the tanh formula (as PyTorch's GELU). */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }
  protected override extraRepr(): string {
    return this.approximate === 'none' ? '' : `approximate='${this.approximate}'`;
  }
}

/** x * sigmoid(x) */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** log(1 + exp(x)) */
export class Softplus extends Module {
  forward(x: Tensor): Tensor {
    return x.softplus();
  }
}

/** x for x > 0, negativeSlope * x otherwise */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return where(x.gt(0), x, x.mul(this.negativeSlope));
  }
  protected override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** x for x > 0, alpha * (exp(x) - 1) otherwise */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return where(x.gt(0), x, x.expm1().mul(this.alpha));
  }
}

/** softmax along `dim` */
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return logSoftmax(x, this.dim);
  }
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1-p) when `training`
 * (inverted dropout, so eval needs no rescaling); identity otherwise.
 *
 *   dropout(h, 0.1, model.training)
 */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new DLError('dropout', `p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const keep = rand(x.shape, { device: x.device }).ge(p); // bool mask
  return x.mul(keep.cast(x.dtype)).mul(1 / (1 - p));
}

/** Inverted dropout as a layer: active in train(), identity in eval(). */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new DLError('Dropout', `p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}
