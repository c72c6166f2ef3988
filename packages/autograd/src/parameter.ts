import { DLError, DTypeError, Tensor, fmt, isFloat, keep } from '@dl/tensor';
import { installBackwardHook } from './engine.js';

/**
 * `new Parameter(t)` (or `Parameter(t)`): a leaf tensor that requires grad and shares `t`'s
 * storage, as `torch.nn.Parameter`. It is a plain `Tensor` (Tensor's constructor is internal, so
 * there is no subclass); `p instanceof Parameter` and `isParameter(p)` tell parameters apart.
 * Parameters outlive `scope()`: they are model state, freed with `dispose()`.
 *
 *   const w = new Parameter(randn([3, 3]));     // w.requiresGrad === true, w.isLeaf === true
 *   const frozen = new Parameter(t, false);     // a parameter that does not train
 */
export interface ParameterConstructor {
  new (data: Tensor, requiresGrad?: boolean): Tensor;
  (data: Tensor, requiresGrad?: boolean): Tensor;
}

const parameters = new WeakSet<Tensor>();

function makeParameter(data: Tensor, requiresGrad = true): Tensor {
  installBackwardHook();
  if (!(data instanceof Tensor)) throw new DLError('Parameter', `expected a Tensor, got ${typeof data}`);
  if (requiresGrad && !isFloat(data.dtype)) {
    throw new DTypeError('Parameter', `only float tensors can require grad; got ${data.dtype} ${fmt(data.shape)} (pass requiresGrad false for a frozen one)`);
  }
  // a new untracked leaf on the same storage; keep(): model state outlives every open scope
  // (the scope still owns `data`, which only drops its own reference to the storage)
  const p = keep(data.detach());
  p.requiresGrad_(requiresGrad);
  parameters.add(p);
  return p;
}

export const Parameter = function Parameter(data: Tensor, requiresGrad?: boolean): Tensor {
  return makeParameter(data, requiresGrad);
} as unknown as ParameterConstructor;

Object.defineProperty(Parameter, Symbol.hasInstance, { value: (v: unknown) => v instanceof Tensor && parameters.has(v) });

/** Same as `new Parameter(data, requiresGrad)`. */
export function parameter(data: Tensor, requiresGrad = true): Tensor {
  return makeParameter(data, requiresGrad);
}

/** True for tensors made by `Parameter` / `parameter`. */
export function isParameter(v: unknown): v is Tensor {
  return v instanceof Tensor && parameters.has(v);
}
