import { DeviceError, ShapeError, fmt, type Tensor } from '@dl/tensor';
import { checkNumber } from './args.js';

/**
 * Fraction of rows whose argmax matches the int32 target, as a 0-d float32 tensor (read it with
 * `.item()` on CPU or `await .data()` anywhere).
 *
 *   accuracy(logits, labels).item(); // 0.97
 */
export function accuracy(logits: Tensor, target: Tensor): Tensor {
  return correctCount(logits, target).float().div(target.size);
}

/** Number of rows whose argmax over the last dim equals the target (0-d int32). */
export function correctCount(logits: Tensor, target: Tensor): Tensor {
  if (logits.ndim < 1 || target.shape.length !== logits.ndim - 1 || target.shape.some((d, i) => d !== logits.shape[i])) {
    throw new ShapeError('accuracy', `target ${fmt(target.shape)} must be logits ${fmt(logits.shape)} without the last dim`);
  }
  if (logits.device !== target.device) {
    throw new DeviceError('accuracy', `expected logits and target on one device, got logits ${fmt(logits.shape)} on ${logits.device}, target ${fmt(target.shape)} on ${target.device}`);
  }
  return logits.argmax(-1).eq(target).sum();
}

/**
 * A running (optionally weighted) mean of numbers, e.g. the loss over an epoch.
 *
 *   const m = new RunningMean();
 *   m.update(loss, batchSize);
 *   m.mean;
 */
export class RunningMean {
  total = 0;
  count = 0;
  update(value: number, weight = 1): this {
    this.total += value * weight;
    this.count += weight;
    return this;
  }
  get mean(): number {
    return this.count ? this.total / this.count : NaN;
  }
  reset(): void {
    this.total = 0;
    this.count = 0;
  }
}

/**
 * Exponential moving average, for smooth progress-bar losses.
 *
 *   const ema = new EMA(0.9); ema.update(loss); ema.value;
 */
export class EMA {
  value = NaN;
  #n = 0;
  constructor(readonly decay = 0.9) {
    checkNumber('EMA', 'decay', decay, 0, 1);
  }
  update(v: number): number {
    this.#n++;
    this.value = this.#n === 1 ? v : this.decay * this.value + (1 - this.decay) * v;
    return this.value;
  }
}
