import type { DType, Tensor } from '@dl/tensor';
import type { Primitive, PrimitiveAttrs } from '@dl/tensor/internal';

/** What a rule knows about an input or the output without holding on to the tensor. */
export interface TensorMeta {
  shape: readonly number[];
  /** the layout it had (a rule may give its gradient the same layout) */
  strides: readonly number[];
  dtype: DType;
  device: string;
}

export interface GradCtx<P extends Primitive> {
  attrs: PrimitiveAttrs[P];
  /**
   * the tensors `save` returned, in order; under createGraph they stay connected to the graph.
   * Entries `save` gave as null (not needed for the requested gradients) are never read.
   */
  saved: readonly Tensor[];
  inputs: readonly TensorMeta[];
  out: TensorMeta;
  /** needs[i]: input i wants a gradient; the rule may return null for the others */
  needs: readonly boolean[];
}

/** One gradient per input, null where there is none (or none was asked for). */
export type Grads = (Tensor | null)[];

/**
 * How a primitive is differentiated. `save` declares which inputs/output backward needs (the
 * tape keeps aliases of them and checks their version); `backward` maps the output gradient `g`
 * to input gradients using differentiable ops, so the gradient itself can be differentiated.
 * Broadcasting needs no handling here: binary inputs arrive as recorded `expand` views, whose
 * rule reduces the gradient back to the original shape.
 */
export interface GradRule<P extends Primitive> {
  /** false: the primitive has no gradient and nothing is recorded for it */
  differentiable?: false;
  save?: (inputs: readonly Tensor[], out: Tensor, attrs: PrimitiveAttrs[P], needs: readonly boolean[]) => (Tensor | null)[];
  backward: (g: Tensor, ctx: GradCtx<P>) => Grads;
}

/** Rule of a primitive without a gradient: comparisons, argmax/argsort, creation, RNG. */
export function nonDifferentiable<P extends Primitive>(): GradRule<P> {
  return { differentiable: false, backward: (_g, ctx) => ctx.inputs.map(() => null) };
}
