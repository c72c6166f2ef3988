/**
 * Base class of every error @dl throws on purpose, in every package: `e instanceof DLError` tells
 * the library's own checks from bugs. `op` names the operation, function or layer path.
 *
 *   try { x.sum(5); } catch (e) { if (e instanceof DLError) console.log(e.op); } // 'sum'
 */
export class DLError extends Error {
  /**
   * The layer whose forward raised it (`features.3 (Conv2d)`), set by @dl/layers' Module, which
   * also puts it in front of the message; undefined outside a layer.
   */
  declare layer?: string;

  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (broadcasting, matmul inner dims, conv channels, ...). */
export class ShapeError extends DLError {}

/** A dtype the op does not accept, or a mix of dtypes with no defined promotion. */
export class DTypeError extends DLError {}

/** Tensors on different devices, an unknown device, or a sync read on an async device. */
export class DeviceError extends DLError {}

/** Use of a tensor after `dispose()`. */
export class DisposedError extends DLError {}

/** A dispatch listener (a profiler, ...) threw something that is not a @dl error; `cause` holds it. */
export class DispatchListenerError extends DLError {
  constructor(op: string, message: string, cause: unknown) {
    super(op, message);
    this.cause = cause;
  }
}

/**
 * An index or dim out of range (PyTorch's IndexError). Like every @dl error it extends DLError;
 * it is not a built-in `RangeError` (an object has one prototype chain), so catch it by its class.
 */
export class IndexError extends DLError {}

/** Formats a shape the way every message shows it: `[2,3]`. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
