import { Tensor, isFloat } from '@dl/tensor';
import { gradMode, runView, viewOf } from '@dl/tensor/internal';
import { installBackwardHook } from './engine.js';
import { Node, attach, edgeOf, meta, pack, withGradMode } from './tape.js';

export interface ForwardContext {
  /** keeps tensors (inputs or the output) for backward; they are version-checked like any saved tensor */
  save(...tensors: Tensor[]): void;
  /** per argument: whether its gradient will be asked for */
  readonly needsInputGrad: readonly boolean[];
}

export interface BackwardContext {
  /** what forward saved, in order (connected to the graph under createGraph) */
  readonly saved: readonly Tensor[];
  readonly needsInputGrad: readonly boolean[];
}

export interface CustomGradDef<A extends unknown[]> {
  /** shown in error messages */
  name?: string;
  /** computes the output; runs with grad recording off */
  forward(ctx: ForwardContext, ...args: A): Tensor;
  /**
   * maps the output's gradient to one gradient per argument (null/undefined for non-tensors and
   * for arguments without one). Written with tensor ops, it is itself differentiable.
   */
  backward(ctx: BackwardContext, g: Tensor): (Tensor | null | undefined)[];
}

/**
 * A differentiable function with a hand-written gradient, as `torch.autograd.Function.apply`:
 * for fused kernels whose gradient is cheaper or stabler than differentiating their parts.
 *
 *   const square = customGrad({
 *     forward: (ctx, x: Tensor) => { ctx.save(x); return x.mul(x); },
 *     backward: (ctx, g) => [g.mul(ctx.saved[0]).mul(2)],
 *   });
 *   backward(square(w).sum()); // w.grad = 2w
 */
export function customGrad<A extends unknown[]>(def: CustomGradDef<A>): (...args: A) => Tensor {
  installBackwardHook();
  const name = def.name ?? 'customGrad';
  return (...args: A) => {
    const needs = args.map((a) => a instanceof Tensor && gradMode.enabled && a.requiresGrad && isFloat(a.dtype));
    const toSave: Tensor[] = [];
    const ctx: ForwardContext = { save: (...ts) => void toSave.push(...ts), needsInputGrad: needs };
    let out = withGradMode(false, () => def.forward(ctx, ...args), name);
    if (!needs.includes(true) || !isFloat(out.dtype)) return out;
    // never re-parent a tensor the caller already holds (an input returned as is)
    if (out.requiresGrad || args.includes(out)) out = viewOf(out, out.shape, out.strides, out.offset);
    const node = new Node(
      name,
      args.map((a, i) => (needs[i] ? edgeOf(a as Tensor) : null)),
      toSave.map((t) => pack(t, out)),
      args.map((a) => (a instanceof Tensor ? meta(a) : null)),
      (g, saved, n) => {
        const r = def.backward({ saved, needsInputGrad: n }, g);
        // hand the engine (recorded) views it may dispose: backward may return tensors it does
        // not own (a saved tensor, a constant from a closure), which must outlive this gradient
        return args.map((_, i) => {
          const t = r[i];
          return t ? runView('reshape', t, { shape: [...t.shape] }, t.shape, t.strides, t.offset) : null;
        });
      },
    );
    attach(out, node);
    return out;
  };
}
