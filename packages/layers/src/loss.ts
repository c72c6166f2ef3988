import { customGrad } from '@dl/autograd';
import { DLError, DTypeError, DeviceError, IndexError, ShapeError, fmt, isFloat, logSoftmax, shapesEqual, where, type Tensor } from '@dl/tensor';
import { checkNumber } from './args.js';

/** How per-element losses are combined: averaged (default), summed, or returned as they are. */
export type Reduction = 'mean' | 'sum' | 'none';

function reduce(op: string, loss: Tensor, reduction: Reduction): Tensor {
  switch (reduction) {
    case 'mean':
      return loss.mean();
    case 'sum':
      return loss.sum();
    case 'none':
      return loss;
    default:
      throw new DLError(op, `unknown reduction '${String(reduction)}' (mean, sum or none)`);
  }
}

/**
 * The checks every loss makes before computing: all tensor arguments on one device (a DeviceError
 * naming each with its device and shape), and a float input.
 */
function checkArgs(op: string, args: Record<string, Tensor | undefined>, floatInput = true): void {
  const given = Object.entries(args).filter((e): e is [string, Tensor] => e[1] !== undefined);
  if (given.some(([, t]) => t.device !== given[0][1].device)) {
    throw new DeviceError(op, `expected all arguments on one device, got ${given.map(([k, t]) => `${k} ${fmt(t.shape)} on ${t.device}`).join(', ')}`);
  }
  const input = args.input;
  if (floatInput && input && !isFloat(input.dtype)) throw new DTypeError(op, `input must be float, got ${input.dtype} ${fmt(input.shape)}`);
}

/** A weight must broadcast to the input's shape (not widen it): ShapeError naming both shapes. */
function checkBroadcastsTo(op: string, name: string, w: Tensor | undefined, input: Tensor): void {
  if (!w) return;
  const k = input.ndim - w.ndim;
  if (k < 0 || !w.shape.every((d, i) => d === 1 || d === input.shape[k + i])) {
    throw new ShapeError(op, `${name} ${fmt(w.shape)} must broadcast to input ${fmt(input.shape)}`);
  }
}

function sameShape(op: string, input: Tensor, target: Tensor): void {
  if (!shapesEqual(input.shape, target.shape)) {
    throw new ShapeError(op, `input ${fmt(input.shape)} and target ${fmt(target.shape)} must have the same shape`);
  }
}

/**
 * Mean squared error.
 *
 *   mseLoss(pred, target)                       // scalar
 *   mseLoss(pred, target, { reduction: 'none' }) // per element
 */
export function mseLoss(input: Tensor, target: Tensor, { reduction = 'mean' }: { reduction?: Reduction } = {}): Tensor {
  checkArgs('mseLoss', { input, target });
  sameShape('mseLoss', input, target);
  return reduce('mseLoss', input.sub(target).square(), reduction);
}

/** Mean absolute error. */
export function l1Loss(input: Tensor, target: Tensor, { reduction = 'mean' }: { reduction?: Reduction } = {}): Tensor {
  checkArgs('l1Loss', { input, target });
  sameShape('l1Loss', input, target);
  return reduce('l1Loss', input.sub(target).abs(), reduction);
}

/** Huber-like loss: 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere. */
export function smoothL1Loss(input: Tensor, target: Tensor, { reduction = 'mean', beta = 1 }: { reduction?: Reduction; beta?: number } = {}): Tensor {
  checkArgs('smoothL1Loss', { input, target });
  checkNumber('smoothL1Loss', 'beta', beta);
  sameShape('smoothL1Loss', input, target);
  const d = input.sub(target).abs();
  const loss = beta === 0 ? d : where(d.lt(beta), d.square().mul(0.5 / beta), d.sub(0.5 * beta));
  return reduce('smoothL1Loss', loss, reduction);
}

export interface NllOptions {
  /** per-class weights [C] */
  weight?: Tensor;
  /** targets equal to this contribute nothing (and do not count in the mean) */
  ignoreIndex?: number;
  reduction?: Reduction;
}

/** Moves the class dim (1) last and flattens: [N, C, d...] -> [N*d..., C]; [C] -> [1, C]. */
function rows(op: string, input: Tensor, target: Tensor, probs: boolean): { x: Tensor; t: Tensor; outShape: number[] } {
  if (input.ndim === 1) {
    return { x: input.unsqueeze(0), t: probs ? target.unsqueeze(0) : target.reshape([1]), outShape: [] };
  }
  if (input.ndim < 1) throw new ShapeError(op, `input must be [C], [N, C] or [N, C, d1, ...], got ${fmt(input.shape)}`);
  const C = input.shape[1];
  const outShape = [input.shape[0], ...input.shape.slice(2)];
  if (probs) sameShape(op, input, target);
  else if (!shapesEqual(target.shape, outShape)) {
    throw new ShapeError(op, `target ${fmt(target.shape)} must be ${fmt(outShape)} (input ${fmt(input.shape)} without the class dim)`);
  }
  if (input.ndim === 2) return { x: input, t: target, outShape };
  const perm = [0, ...Array.from({ length: input.ndim - 2 }, (_, i) => i + 2), 1];
  const x = input.permute(perm).reshape([-1, C]);
  const t = probs ? target.permute(perm).reshape([-1, C]) : target.reshape([-1]);
  return { x, t, outShape };
}

/**
 * NLL over rows [M, C] and int32 targets [M]: per-row losses and per-row weights (0 where ignored).
 * Ignored rows are selected out (`where`), not multiplied by 0: a fully masked row's -Infinity
 * log-probability then adds exactly 0 to the loss and 0 to the gradient, not NaN.
 */
function nllRows(op: string, logp: Tensor, t: Tensor, weight: Tensor | undefined, ignoreIndex: number): { loss: Tensor; w: Tensor; ignored: Tensor } {
  const ignored = t.eq(ignoreIndex);
  const safe = where(ignored, 0, t); // gather needs a valid index even where ignored
  let picked: Tensor;
  try {
    picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1); // [M]
  } catch (e) {
    if (e instanceof IndexError) throw new IndexError(op, `class targets must be in [0, ${logp.shape[1]}) or equal ignoreIndex (${ignoreIndex}); ${e.message}`);
    throw e;
  }
  const wt = weight?.indexSelect(0, safe); // [M]
  const loss = where(ignored, 0, wt ? picked.neg().mul(wt) : picked.neg()); // [M]
  const w = wt ? where(ignored, 0, wt) : ignored.logicalNot().cast(logp.dtype); // [M]
  return { loss, w, ignored };
}

function checkTarget(op: string, input: Tensor, target: Tensor, C: number, weight?: Tensor): void {
  checkArgs(op, { input, target, weight });
  if (target.dtype !== 'int32') throw new DTypeError(op, `class-index targets must be int32, got ${target.dtype} ${fmt(target.shape)}`);
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== C)) throw new ShapeError(op, `weight must be [${C}], got ${fmt(weight.shape)}`);
}

/**
 * Negative log likelihood of int32 class targets given log-probabilities [N, C] (or [N, C, d...]).
 * The mean divides by the summed weights of the non-ignored targets, as PyTorch.
 */
export function nllLoss(logProbs: Tensor, target: Tensor, { weight, ignoreIndex = -100, reduction = 'mean' }: NllOptions = {}): Tensor {
  const C = logProbs.ndim === 1 ? logProbs.shape[0] : logProbs.shape[1];
  checkTarget('nllLoss', logProbs, target, C, weight);
  const { x, t, outShape } = rows('nllLoss', logProbs, target, false);
  const { loss, w } = nllRows('nllLoss', x, t, weight, ignoreIndex);
  if (reduction === 'mean') return loss.sum().div(w.sum());
  if (reduction === 'none') return loss.reshape(outShape);
  return reduce('nllLoss', loss, reduction);
}

export interface CrossEntropyOptions extends NllOptions {
  /** mixes the target with the uniform distribution: (1 - s) * target + s / C */
  labelSmoothing?: number;
}

/**
 * Cross entropy of logits [N, C] (or [N, C, d...], or [C]) against int32 class indices [N] or
 * class probabilities shaped like the logits. Fuses logSoftmax, as PyTorch's F.cross_entropy.
 *
 *   crossEntropy(logits, labels)                              // mean over the batch
 *   crossEntropy(logits, labels, { labelSmoothing: 0.1, ignoreIndex: 0 })
 *   crossEntropy(logits, softTargets)                         // float targets
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { weight, ignoreIndex = -100, reduction = 'mean', labelSmoothing = 0 } = opts;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new DLError('crossEntropy', `labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  const C = input.ndim === 1 ? input.shape[0] : input.shape[1];
  const probs = isFloat(target.dtype);
  if (probs) {
    checkArgs('crossEntropy', { input, target, weight });
    if (weight && (weight.ndim !== 1 || weight.shape[0] !== C)) throw new ShapeError('crossEntropy', `weight must be [${C}], got ${fmt(weight.shape)}`);
    const { x, t, outShape } = rows('crossEntropy', input, target, true);
    const logp = logSoftmax(x, 1);
    const tt = labelSmoothing > 0 ? t.mul(1 - labelSmoothing).add(labelSmoothing / C) : t;
    // 0 * log p is 0 even where p is 0 (a masked class, or a fully masked row with an all-zero target)
    let terms = labelSmoothing > 0 ? logp.mul(tt) : where(tt.eq(0), 0, logp.mul(tt));
    if (weight) terms = terms.mul(weight);
    const loss = terms.sum(1).neg(); // [M]
    return reduction === 'none' ? loss.reshape(outShape) : reduce('crossEntropy', loss, reduction);
  }
  checkTarget('crossEntropy', input, target, C, weight);
  const { x, t, outShape } = rows('crossEntropy', input, target, false);
  const logp = logSoftmax(x, 1); // [M, C]
  const { loss: nll, w, ignored } = nllRows('crossEntropy', logp, t, weight, ignoreIndex);
  if (labelSmoothing === 0) {
    if (reduction === 'mean') return nll.sum().div(w.sum());
    return reduction === 'none' ? nll.reshape(outShape) : reduce('crossEntropy', nll, reduction);
  }
  // PyTorch: (1 - s) * nll + s / C * smooth, smooth = -sum_c w_c log p_c over non-ignored rows
  const smooth = where(ignored, 0, (weight ? logp.mul(weight) : logp).sum(1).neg()); // [M]
  const s = labelSmoothing;
  if (reduction === 'mean') {
    const denom = w.sum(); // the kept rows' weights (their count without class weights), as PyTorch
    return nll.sum().div(denom).mul(1 - s).add(smooth.sum().div(denom).mul(s / C));
  }
  const loss = nll.mul(1 - s).add(smooth.mul(s / C));
  return reduction === 'none' ? loss.reshape(outShape) : reduce('crossEntropy', loss, reduction);
}

export interface BceOptions {
  /** rescales each element's loss (broadcast to the input) */
  weight?: Tensor;
  reduction?: Reduction;
}

/**
 * Elementwise -(y log p + (1 - y) log(1 - p)) with the logs clamped at -100, and PyTorch's
 * hand-written gradients: g (p - y) / max(p (1 - p), 1e-12) for p, which stays finite where p
 * is exactly 0 or 1 (the clamp's own gradient would send 0 into log's g / p there), and
 * g (log(1 - p) - log p) for y (infinite at 0 and 1, as PyTorch's -logit(p)).
 */
let bceTerms: ((p: Tensor, y: Tensor) => Tensor) | undefined;
function bceElementwise(p: Tensor, y: Tensor): Tensor {
  bceTerms ??= customGrad({
    name: 'binaryCrossEntropy',
    forward(ctx, p: Tensor, y: Tensor) {
      ctx.save(p, y);
      const logP = p.log().clamp(-100);
      const log1mP = p.neg().add(1).log().clamp(-100);
      return y.sub(1).mul(log1mP).sub(y.mul(logP)); // PyTorch's (y - 1) log(1 - p) - y log p
    },
    backward({ saved: [p, y], needsInputGrad: [gp, gy] }, g) {
      const oneMinusP = p.neg().add(1);
      return [gp ? g.mul(p.sub(y)).div(oneMinusP.mul(p).clamp(1e-12)) : null, gy ? g.mul(oneMinusP.log().sub(p.log())) : null];
    },
  });
  return bceTerms(p, y);
}

/**
 * PyTorch refuses probabilities outside [0, 1] (NaN included) rather than return NaN. Checked on
 * devices that read synchronously (the CPU), as PyTorch's CPU kernel does; one pass over the input.
 */
function checkProbabilities(op: string, input: Tensor): void {
  if (!input.storage.backend.readSync) return;
  const v = input.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (v[i] >= 0 && v[i] <= 1) continue;
    const at: number[] = [];
    for (let d = input.ndim - 1, r = i; d >= 0; d--) {
      at.unshift(r % input.shape[d]);
      r = Math.floor(r / input.shape[d]);
    }
    throw new DLError(op, `input values must be in [0, 1], got ${v[i]} at ${fmt(at)} (input ${fmt(input.shape)})`);
  }
}

/**
 * Binary cross entropy of probabilities in [0, 1]; the logs are clamped at -100 and the gradient
 * is PyTorch's, finite where p is exactly 0 or 1 (a saturated sigmoid: sigmoid(20) is 1 in float32).
 *
 *   binaryCrossEntropy(probs, targets)                     // mean over elements
 *   binaryCrossEntropy(probs, targets, { weight: w, reduction: 'sum' })
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, { weight, reduction = 'mean' }: BceOptions = {}): Tensor {
  checkArgs('binaryCrossEntropy', { input, target, weight });
  sameShape('binaryCrossEntropy', input, target);
  checkBroadcastsTo('binaryCrossEntropy', 'weight', weight, input);
  checkProbabilities('binaryCrossEntropy', input);
  let loss = bceElementwise(input, target);
  if (weight) loss = loss.mul(weight);
  return reduce('binaryCrossEntropy', loss, reduction);
}

/**
 * Binary cross entropy on logits, computed stably as (1 - y) x + softplus(-x), so the gradient is
 * sigmoid(x) - y at every x (finite for any finite logit, exact at 0).
 * `posWeight` [C] multiplies the positive term (broadcast over the last dim).
 *
 *   bceWithLogits(logits, targets)
 *   bceWithLogits(logits, targets, { posWeight: tensor([3]) }) // positives count 3 times
 */
export function bceWithLogits(input: Tensor, target: Tensor, { weight, posWeight, reduction = 'mean' }: BceOptions & { posWeight?: Tensor } = {}): Tensor {
  checkArgs('bceWithLogits', { input, target, weight, posWeight });
  sameShape('bceWithLogits', input, target);
  checkBroadcastsTo('bceWithLogits', 'weight', weight, input);
  checkBroadcastsTo('bceWithLogits', 'posWeight', posWeight, input);
  const softplusNeg = input.neg().softplus(); // log(1 + exp(-x))
  // (1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x))
  const coef = posWeight ? posWeight.sub(1).mul(target).add(1) : undefined;
  let loss = target.neg().add(1).mul(input).add(coef ? coef.mul(softplusNeg) : softplusNeg);
  if (weight) loss = loss.mul(weight);
  return reduce('bceWithLogits', loss, reduction);
}

/**
 * Kullback-Leibler divergence with `input` as log-probabilities (as PyTorch's F.kl_div):
 * target * (log target - input), 0 where target is 0. 'batchmean' divides the sum by the batch size.
 */
export function klDivergence(
  input: Tensor,
  target: Tensor,
  { reduction = 'mean', logTarget = false }: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {},
): Tensor {
  checkArgs('klDivergence', { input, target });
  sameShape('klDivergence', input, target);
  let loss: Tensor;
  if (logTarget) loss = target.exp().mul(target.sub(input));
  else {
    // xlogy: 0 * log 0 = 0 (the safe log keeps the gradient finite where target is 0)
    const pos = target.gt(0);
    const logT = where(pos, target, 1).log();
    loss = where(pos, target.mul(logT), 0).sub(target.mul(input));
  }
  if (reduction === 'batchmean') return loss.sum().div(input.ndim ? input.shape[0] : 1);
  return reduce('klDivergence', loss, reduction);
}
