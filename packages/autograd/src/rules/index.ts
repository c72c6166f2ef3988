import type { Primitive } from '@dl/tensor/internal';
import { binaryRules, binaryScalarRule, whereRule, whereScalarRule } from './binary.js';
import { linalgRules } from './linalg.js';
import { creationRules, movementRules } from './movement.js';
import { normRules, reduceRules } from './reduce.js';
import type { GradRule } from './types.js';
import { unaryRules } from './unary.js';

export type { GradCtx, GradRule, Grads, TensorMeta } from './types.js';

/** The gradient rule of every primitive; a primitive added to @dl/tensor without one is a type error. */
export const rules: { readonly [P in Primitive]: GradRule<P> } = {
  ...unaryRules,
  ...binaryRules,
  where: whereRule,
  binaryScalar: binaryScalarRule,
  whereScalar: whereScalarRule,
  ...reduceRules,
  ...normRules,
  ...linalgRules,
  ...movementRules,
  ...creationRules,
};
