/**
 * @dl/autograd: reverse-mode automatic differentiation for @dl/tensor — a gradient rule for every
 * primitive, recorded through one dispatch hook.
 */
export { backward, type BackwardOptions } from './engine.js';
export { grad, valueAndGrad, noGrad, enableGrad, isGradEnabled, type GradOptions, type ValueAndGrad } from './api.js';
export { Parameter, parameter, isParameter, type ParameterConstructor } from './parameter.js';
export { customGrad, type CustomGradDef, type ForwardContext, type BackwardContext } from './custom.js';
export { gradcheck, type GradcheckOptions, type GradcheckReport, type GradcheckWorst } from './gradcheck.js';
export { rules, type GradRule, type GradCtx, type Grads, type TensorMeta } from './rules/index.js';
export { AutogradError, AsyncCallbackError, NonScalarBackwardError, RequiresGradError, FreedGraphError, InplaceModificationError } from './errors.js';
