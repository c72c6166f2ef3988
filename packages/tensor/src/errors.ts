/** Base class of every error @dl throws on purpose. `op` names the operation or layer path. */
export class DLError extends Error {
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
 * An index or dim out of range. Extends the built-in `RangeError`, so
 * `catch (e) { if (e instanceof RangeError) ... }` works as well.
 */
export class IndexError extends RangeError {
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
    this.name = 'IndexError';
  }
}

/** Formats a shape the way every message shows it: `[2,3]`. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
