import { DLError } from '@dl/tensor';

/** Base class of the errors autograd throws on purpose. */
export class AutogradError extends DLError {}

/** `backward(y)` on a tensor with more than one element and no seed gradient. */
export class NonScalarBackwardError extends AutogradError {}

/** `backward(y)` or `grad(f)` where the output does not depend on anything that requires grad. */
export class RequiresGradError extends AutogradError {}

/** A second backward through a graph whose saved tensors were released by the first. */
export class FreedGraphError extends AutogradError {}

/** A tensor saved for backward was modified in place after it was saved. */
export class InplaceModificationError extends AutogradError {}

/** `noGrad(async () => ...)`: grad mode cannot follow code past an await, so async callbacks are refused. */
export class AsyncCallbackError extends AutogradError {}
