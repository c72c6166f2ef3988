import { DLError, DTypeError, Tensor, fmt, isFloat, onesLike, zerosLike } from '@dl/tensor';
import { gradMode, runView } from '@dl/tensor/internal';
import { runBackward } from './engine.js';
import { NonScalarBackwardError } from './errors.js';
import { captureNodes, withGradMode } from './tape.js';

export { isGradEnabled } from './tape.js';

/**
 * Runs `fn` with gradient recording off (evaluation, optimizer steps) and returns its result.
 * `fn` must be synchronous: the previous mode is restored when it returns, and an async `fn`
 * throws AsyncCallbackError (ops after its first await would be recorded). Await outside it.
 *
 *   noGrad(() => w.sub_(w.grad!.mul(0.1)));
 *   const y = noGrad(() => model.forward(x)); await y.data();
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/**
 * Runs `fn` with gradient recording on, e.g. inside a noGrad() region; synchronously, as noGrad.
 *
 *   noGrad(() => enableGrad(() => x.mul(w))); // recorded
 */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export interface GradOptions {
  /** which arguments to differentiate: one index (default 0) or several */
  argnums?: number | number[];
  /**
   * record the gradient computation so it can be differentiated again; defaults to true when an
   * argument is itself being differentiated by an enclosing grad()/backward, else false
   */
  createGraph?: boolean;
}

export interface ValueAndGrad<G> {
  /** f's value (one element) */
  value: Tensor;
  grads: G;
}

type Fn<A extends unknown[]> = (...args: A) => Tensor;

/**
 * f's value and its gradient with respect to the arguments `argnums`, without touching any
 * `.grad`: parameters f closes over are constants here. Arguments that f does not use get zeros.
 *
 *   const { value, grads } = valueAndGrad((x: Tensor) => x.mul(x).sum())(tensor([1, 2, 3]));
 *   // value 14, grads [2, 4, 6]
 */
export function valueAndGrad<A extends unknown[]>(f: Fn<A>, opts?: GradOptions & { argnums?: number }): (...args: A) => ValueAndGrad<Tensor>;
export function valueAndGrad<A extends unknown[]>(f: Fn<A>, opts: GradOptions & { argnums: number[] }): (...args: A) => ValueAndGrad<Tensor[]>;
export function valueAndGrad<A extends unknown[]>(f: Fn<A>, opts: GradOptions = {}): (...args: A) => ValueAndGrad<Tensor | Tensor[]> {
  return (...args: A) => {
    const { value, grads } = differentiate(f, args, opts, true);
    return { value, grads: typeof (opts.argnums ?? 0) === 'number' ? grads[0] : grads };
  };
}

function differentiate<A extends unknown[]>(f: Fn<A>, args: A, opts: GradOptions, keepValueGraph: boolean): { value: Tensor; grads: Tensor[] } {
  const argnums = opts.argnums ?? 0;
  const nums = typeof argnums === 'number' ? [argnums] : argnums;
  const wrapped = [...args] as A;
  const leaves: Tensor[] = [];
  let nested = false;
  for (const i of nums) {
    const x = args[i];
    if (!(x instanceof Tensor)) throw new DLError('grad', `argument ${i} must be a Tensor to be differentiated, got ${typeof x}`);
    if (!isFloat(x.dtype)) throw new DTypeError('grad', `argument ${i} has dtype ${x.dtype}; only float tensors have gradients (shape ${fmt(x.shape)})`);
    let leaf: Tensor;
    if (gradMode.enabled && x.requiresGrad) {
      // x is being differentiated by an enclosing grad/backward: stay connected to it through a
      // recorded identity view, whose gradient is x's gradient
      leaf = runView('reshape', x, { shape: [...x.shape] }, x.shape, x.strides, x.offset);
      nested = true;
    } else {
      leaf = x.detach().requiresGrad_();
    }
    wrapped[i] = leaf;
    leaves.push(leaf);
  }
  const { result: value, nodes } = captureNodes(() => withGradMode(true, () => f(...wrapped), 'grad'));
  if (!(value instanceof Tensor) || value.size !== 1) {
    throw new NonScalarBackwardError('grad', `f must return a one-element tensor, got ${value instanceof Tensor ? `shape ${fmt(value.shape)}` : typeof value}; reduce it (e.g. .sum())`);
  }
  const createGraph = opts.createGraph ?? nested;
  let grads: (Tensor | null)[] = leaves.map(() => null);
  if (value.requiresGrad) {
    const seed = onesLike(value);
    grads = runBackward(value, seed, {
      createGraph,
      // valueAndGrad returns f's value, which may still be differentiated (nested use): keep its graph
      retain: keepValueGraph && createGraph ? 'all' : createGraph ? 'referenced' : 'none',
      alsoRelease: keepValueGraph && createGraph ? [] : nodes,
      inputs: leaves,
      userSeed: seed,
    });
    seed.dispose();
  }
  const out = grads.map((g, k) => g ?? zerosLike(leaves[k]));
  for (const l of leaves) if (l !== value) l.dispose();
  return { value, grads: out };
}

/**
 * A function returning the gradient of f (which must return one element) with respect to the
 * arguments `argnums`. Nest it for higher derivatives.
 *
 *   grad((x: Tensor) => x.mul(x).sum())(tensor([1, 2, 3]));          // [2, 4, 6]
 *   grad((x: Tensor) => grad((y: Tensor) => y.pow(3).sum())(x).sum())(tensor([1, 2])); // 6x: [6, 12]
 */
export function grad<A extends unknown[]>(f: Fn<A>, opts?: GradOptions & { argnums?: number }): (...args: A) => Tensor;
export function grad<A extends unknown[]>(f: Fn<A>, opts: GradOptions & { argnums: number[] }): (...args: A) => Tensor[];
export function grad<A extends unknown[]>(f: Fn<A>, opts: GradOptions = {}): (...args: A) => Tensor | Tensor[] {
  return (...args: A) => {
    const { grads } = differentiate(f, args, opts, false);
    return typeof (opts.argnums ?? 0) === 'number' ? grads[0] : grads;
  };
}
