import { getBackend, type TensorInfo } from './backend.js';
import { checkDeviceDType, isFloat, promoteTypes, promoteWithScalar, type DType, type NestedArray, type TypedArray } from './dtype.js';
import { DLError, DeviceError, DisposedError, DTypeError, IndexError, ShapeError, fmt } from './errors.js';
import { Storage, deviceStats, keep, scope, trackInScope } from './memory.js';
import { broadcastShapes, isContiguousLayout, shapesEqual, sizeOf } from './shape.js';
import * as ops from './ops/index.js';
import type { ConvOptions, ConvTransposeOptions, PoolOptions } from './ops/conv.js';

export type Scalar = number | boolean;
export type TensorLike = Tensor | Scalar;

/** What a tensor owns: a storage reference on a device and, under autograd, a reference to its gradFn. */
interface Handle {
  storage: Storage;
  device: string;
  disposed: boolean;
  gradFn: unknown;
}

/** Frees the storage reference (and gradFn reference) of a tensor that was collected without dispose(). */
const finalizer = new FinalizationRegistry<Handle>((h) => {
  if (h.disposed) return;
  deviceStats(h.device).tensors--;
  h.storage.release();
  if (h.gradFn !== null) hooks.releaseGradFn?.(h.gradFn);
});

/** Hooks a higher package installs (autograd); the tensor package never imports it. */
export const hooks: {
  backward: ((t: Tensor, grad?: Tensor) => void) | null;
  /**
   * A live tensor took `fn` as its gradFn (retain) or gave it up: another gradFn, dispose(), or
   * garbage collection (release). Autograd counts these to free a graph nobody can reach.
   */
  retainGradFn: ((fn: unknown) => void) | null;
  releaseGradFn: ((fn: unknown) => void) | null;
} = { backward: null, retainGradFn: null, releaseGradFn: null };

let swapStorage: (t: Tensor, storage: Storage) => void;

/**
 * An N-dimensional array on a device: storage + shape + strides + offset + dtype.
 * Views (reshape, transpose, slice, expand, ...) share storage and change only the layout.
 * Make tensors with `tensor()`, `zeros()`, `randn()`, ...; never with `new`.
 */
export class Tensor {
  /** set by autograd: true on leaves that want .grad and on results computed from them */
  requiresGrad = false;
  /** accumulated gradient of a leaf after backward() */
  grad: Tensor | null = null;
  readonly #handle: Handle;

  /** @internal use the creation functions */
  constructor(
    storage: Storage,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    readonly offset: number,
    readonly dtype: DType,
  ) {
    this.#handle = { storage, device: storage.backend.name, disposed: false, gradFn: null };
    deviceStats(storage.backend.name).tensors++;
    finalizer.register(this, this.#handle, this);
    trackInScope(this);
  }

  get storage(): Storage {
    if (this.#handle.disposed) throw new DisposedError('tensor', `tensor of shape ${fmt(this.shape)} was used after dispose()`);
    return this.#handle.storage;
  }
  get device(): string {
    return this.#handle.device;
  }
  /** autograd's node for non-leaf results (null on leaves); a live tensor holds a counted reference to it */
  get gradFn(): unknown {
    return this.#handle.gradFn;
  }
  set gradFn(fn: unknown) {
    const h = this.#handle;
    const prev = h.gradFn;
    if (fn === prev) return;
    h.gradFn = fn;
    if (h.disposed) return; // dispose() already gave up the reference
    if (fn !== null) hooks.retainGradFn?.(fn);
    if (prev !== null) hooks.releaseGradFn?.(prev);
  }
  get isDisposed(): boolean {
    return this.#handle.disposed;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  /** numel() as in PyTorch */
  numel(): number {
    return this.size;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  /** storage version, bumped by in-place writes */
  get version(): number {
    checkNotDisposed('version', this);
    return this.storage.version;
  }

  /** @internal what a kernel sees of this tensor */
  info(): TensorInfo {
    return { data: this.storage.data, shape: this.shape, strides: this.strides, offset: this.offset, dtype: this.dtype };
  }

  /** Releases this tensor's reference to its storage; the memory goes when no view uses it. */
  dispose(): void {
    const h = this.#handle;
    if (h.disposed) return;
    h.disposed = true;
    finalizer.unregister(this);
    deviceStats(h.device).tensors--;
    h.storage.release();
    if (h.gradFn !== null) hooks.releaseGradFn?.(h.gradFn);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
  static {
    swapStorage = (t, storage) => {
      const h = t.#handle;
      if (h.disposed) throw new DisposedError('replaceStorage', `tensor of shape ${fmt(t.shape)} was used after dispose()`);
      if (storage === h.storage) return;
      storage.retain();
      // a holder that compares versions sees a change, as after an in-place write
      storage.version = Math.max(storage.version, h.storage.version + 1);
      deviceStats(h.device).tensors--;
      h.storage.release();
      h.storage = storage;
      h.device = storage.backend.name;
      deviceStats(h.device).tensors++;
    };
  }

  isContiguous(): boolean {
    return isContiguousLayout(this.shape, this.strides);
  }

  // ---- reading back -------------------------------------------------------------------------

  /** Values as a contiguous TypedArray (a copy), on every device. */
  async data(): Promise<TypedArray> {
    checkNotDisposed('data', this);
    return this.storage.backend.read(this.info());
  }
  /** Values as nested arrays, on every device. */
  async array(): Promise<NestedArray> {
    checkNotDisposed('array', this);
    return nest(await this.data(), this.shape, this.dtype);
  }
  /** Values as a contiguous TypedArray (a copy); only on devices with synchronous reads (CPU). */
  dataSync(): TypedArray {
    return this.#readSync('dataSync');
  }
  /** Values as nested arrays; only on devices with synchronous reads (CPU). */
  toArray(): NestedArray {
    return nest(this.#readSync('toArray'), this.shape, this.dtype);
  }
  /** A synchronous read for `op` (dataSync, toArray, item), or the error that names it. */
  #readSync(op: string): TypedArray {
    checkNotDisposed(op, this);
    const b = this.storage.backend;
    if (!b.readSync) {
      throw new DeviceError(op, `device '${b.name}' reads asynchronously; use await t.data() or await t.array() (shape ${fmt(this.shape)})`);
    }
    return b.readSync(this.info());
  }
  /** The single value of a one-element tensor (CPU). */
  item(): number {
    checkNotDisposed('item', this);
    if (this.size !== 1) throw new ShapeError('item', `only one-element tensors convert to a number; got shape ${fmt(this.shape)}`);
    const v = this.#readSync('item')[0];
    return this.dtype === 'bool' ? Number(v !== 0) : v;
  }
  /** `tensor([[1, 2], [3, 4]], shape=[2,2], dtype=float32, device=cpu)`; values only for small CPU tensors. */
  toString(): string {
    const meta = `shape=${fmt(this.shape)}, dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''}`;
    if (this.isDisposed) return `Tensor(disposed, ${meta})`;
    if (!this.storage.backend.readSync || this.size > 64) return `Tensor(${meta})`;
    return `tensor(${JSON.stringify(this.toArray())}, ${meta})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---- devices and autograd -----------------------------------------------------------------

  /** Copy on `device` (this tensor itself when already there). Not recorded by autograd. */
  to(device: string): Tensor {
    checkNotDisposed('to', this);
    if (device === this.device) return this;
    const target = getBackend(device, 'to');
    checkDeviceDType('to', target.name, target.dtypes, this.dtype, this.shape);
    const src = this.storage.backend;
    if (!src.readSync) {
      throw new DeviceError('to', `reads from '${src.name}' are asynchronous; use await t.toAsync('${device}') (shape ${fmt(this.shape)})`);
    }
    return fromHost(target.upload(src.readSync(this.info()), this.dtype), target.name, this.shape, this.dtype);
  }
  /** Copy on `device`, for sources with asynchronous reads (WebGPU -> CPU). */
  async toAsync(device: string): Promise<Tensor> {
    checkNotDisposed('toAsync', this);
    if (device === this.device) return this;
    const target = getBackend(device, 'toAsync');
    checkDeviceDType('toAsync', target.name, target.dtypes, this.dtype, this.shape);
    return fromHost(target.upload(await this.data(), this.dtype), target.name, this.shape, this.dtype);
  }
  /** Marks this leaf as requiring grad (in place) and returns it. */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf && !flag) throw new ShapeError('requiresGrad_', 'cannot turn off requiresGrad on a non-leaf; use detach()');
    if (flag && this.dtype !== 'float32' && this.dtype !== 'float64' && this.dtype !== 'float16') {
      throw new DTypeError('requiresGrad_', `only float tensors can require grad; got ${this.dtype} ${fmt(this.shape)}`);
    }
    this.requiresGrad = flag;
    return this;
  }
  /** A view of the same storage that autograd does not track. */
  detach(): Tensor {
    checkNotDisposed('detach', this);
    return viewOf(this, this.shape, this.strides, this.offset);
  }
  /** Runs autograd's backward from this tensor (needs `@dl/autograd`). */
  backward(grad?: Tensor): void {
    checkNotDisposed('backward', this);
    if (grad) checkNotDisposed('backward', grad, 'grad');
    if (!hooks.backward) throw new DeviceError('backward', 'autograd is not loaded; import { backward } from "@dl/autograd" and call backward(loss)');
    hooks.backward(this, grad);
  }

  // ---- in place (for optimizers, inside noGrad) ---------------------------------------------
  // the result is computed out of place and written back; scope() frees that temporary at once

  /** Writes `src` (broadcast to this shape, cast to this dtype) into this tensor's storage. */
  copy_(src: TensorLike): this {
    if (src instanceof Tensor) checkNoSharedElements('copy_', this);
    return ops.assign(this, src);
  }
  add_(other: TensorLike, alpha = 1): this {
    checkInPlace('add_', this, other, alpha);
    if (alpha === 1 && ops.binaryInPlace('add', this, other)) return this;
    return scope(() => ops.assign(this, ops.add(this, alpha === 1 ? other : ops.mul(other, alpha))));
  }
  sub_(other: TensorLike, alpha = 1): this {
    checkInPlace('sub_', this, other, alpha);
    if (alpha === 1 && ops.binaryInPlace('sub', this, other)) return this;
    return scope(() => ops.assign(this, ops.sub(this, alpha === 1 ? other : ops.mul(other, alpha))));
  }
  mul_(other: TensorLike): this {
    checkInPlace('mul_', this, other);
    if (ops.binaryInPlace('mul', this, other)) return this;
    return scope(() => ops.assign(this, ops.mul(this, other)));
  }
  div_(other: TensorLike): this {
    checkInPlace('div_', this, other);
    if (ops.binaryInPlace('div', this, other)) return this;
    return scope(() => ops.assign(this, ops.div(this, other)));
  }
  zero_(): this {
    checkNotDisposed('zero_', this);
    return ops.assign(this, 0);
  }
  fill_(value: number): this {
    checkNotDisposed('fill_', this);
    return ops.assign(this, value);
  }

  // ---- elementwise ----------------------------------------------------------------------------
  add(o: TensorLike): Tensor { return ops.add(this, o); }
  sub(o: TensorLike): Tensor { return ops.sub(this, o); }
  mul(o: TensorLike): Tensor { return ops.mul(this, o); }
  div(o: TensorLike): Tensor { return ops.div(this, o); }
  pow(o: TensorLike): Tensor { return ops.pow(this, o); }
  remainder(o: TensorLike): Tensor { return ops.remainder(this, o); }
  maximum(o: TensorLike): Tensor { return ops.maximum(this, o); }
  minimum(o: TensorLike): Tensor { return ops.minimum(this, o); }
  eq(o: TensorLike): Tensor { return ops.eq(this, o); }
  ne(o: TensorLike): Tensor { return ops.ne(this, o); }
  lt(o: TensorLike): Tensor { return ops.lt(this, o); }
  le(o: TensorLike): Tensor { return ops.le(this, o); }
  gt(o: TensorLike): Tensor { return ops.gt(this, o); }
  ge(o: TensorLike): Tensor { return ops.ge(this, o); }
  logicalAnd(o: TensorLike): Tensor { return ops.logicalAnd(this, o); }
  logicalOr(o: TensorLike): Tensor { return ops.logicalOr(this, o); }
  logicalNot(): Tensor { return ops.logicalNot(this); }
  neg(): Tensor { return ops.neg(this); }
  abs(): Tensor { return ops.abs(this); }
  sign(): Tensor { return ops.sign(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  log1p(): Tensor { return ops.log1p(this); }
  expm1(): Tensor { return ops.expm1(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  rsqrt(): Tensor { return ops.rsqrt(this); }
  square(): Tensor { return ops.square(this); }
  reciprocal(): Tensor { return ops.reciprocal(this); }
  sin(): Tensor { return ops.sin(this); }
  cos(): Tensor { return ops.cos(this); }
  tanh(): Tensor { return ops.tanh(this); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  relu(): Tensor { return ops.relu(this); }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return ops.gelu(this, approximate); }
  silu(): Tensor { return ops.silu(this); }
  softplus(): Tensor { return ops.softplus(this); }
  erf(): Tensor { return ops.erf(this); }
  floor(): Tensor { return ops.floor(this); }
  ceil(): Tensor { return ops.ceil(this); }
  round(): Tensor { return ops.round(this); }
  clamp(min?: number | Tensor, max?: number | Tensor): Tensor { return ops.clamp(this, min, max); }
  where(cond: Tensor, other: TensorLike): Tensor { return ops.where(cond, this, other); }
  maskedFill(mask: Tensor, value: number): Tensor { return ops.maskedFill(this, mask, value); }
  cast(dtype: DType): Tensor { return ops.cast(this, dtype); }
  float(): Tensor { return ops.cast(this, 'float32'); }
  double(): Tensor { return ops.cast(this, 'float64'); }
  int(): Tensor { return ops.cast(this, 'int32'); }
  bool(): Tensor { return ops.cast(this, 'bool'); }

  // ---- reductions -----------------------------------------------------------------------------
  sum(dim?: number | number[], keepdim = false): Tensor { return ops.sum(this, dim, keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return ops.mean(this, dim, keepdim); }
  prod(dim?: number | number[], keepdim = false): Tensor { return ops.prod(this, dim, keepdim); }
  var(dim?: number | number[], unbiased = true, keepdim = false): Tensor { return ops.variance(this, dim, unbiased, keepdim); }
  std(dim?: number | number[], unbiased = true, keepdim = false): Tensor { return ops.std(this, dim, unbiased, keepdim); }
  max(dim?: number | number[], keepdim = false): Tensor { return ops.max(this, dim, keepdim); }
  min(dim?: number | number[], keepdim = false): Tensor { return ops.min(this, dim, keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return ops.argmax(this, dim, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return ops.argmin(this, dim, keepdim); }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return ops.logsumexp(this, dim, keepdim); }
  cumsum(dim: number): Tensor { return ops.cumsum(this, dim); }
  softmax(dim: number): Tensor { return ops.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return ops.logSoftmax(this, dim); }
  all(): Tensor { return ops.all(this); }
  any(): Tensor { return ops.any(this); }

  // ---- linear algebra and nn ------------------------------------------------------------------
  matmul(o: Tensor): Tensor { return ops.matmul(this, o); }
  conv2d(w: Tensor, opts?: ConvOptions): Tensor { return ops.conv2d(this, w, opts); }
  conv1d(w: Tensor, opts?: ConvOptions): Tensor { return ops.conv1d(this, w, opts); }
  convTranspose2d(w: Tensor, opts?: ConvTransposeOptions): Tensor { return ops.convTranspose2d(this, w, opts); }
  maxPool2d(kernelSize: number | [number, number], opts?: PoolOptions): Tensor { return ops.maxPool2d(this, kernelSize, opts); }
  avgPool2d(kernelSize: number | [number, number], opts?: PoolOptions): Tensor { return ops.avgPool2d(this, kernelSize, opts); }

  // ---- views and movement ---------------------------------------------------------------------
  reshape(...shape: number[] | [number[]]): Tensor { return ops.reshape(this, flatArgs(shape)); }
  view(...shape: number[] | [number[]]): Tensor { return ops.view(this, flatArgs(shape)); }
  transpose(dim0: number, dim1: number): Tensor { return ops.transpose(this, dim0, dim1); }
  permute(...dims: number[] | [number[]]): Tensor { return ops.permute(this, flatArgs(dims)); }
  expand(...shape: number[] | [number[]]): Tensor { return ops.expand(this, flatArgs(shape)); }
  expandAs(other: Tensor): Tensor { return ops.expand(this, [...other.shape]); }
  squeeze(dim?: number | number[]): Tensor { return ops.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return ops.unsqueeze(this, dim); }
  flatten(startDim = 0, endDim = -1): Tensor { return ops.flatten(this, startDim, endDim); }
  narrow(dim: number, start: number, length: number): Tensor { return ops.narrow(this, dim, start, length); }
  /** x[..., start:end:step, ...] along `dim` (Python slice semantics, negative indices allowed) */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor { return ops.slice(this, dim, start, end, step); }
  /** x[i] along dim 0 (or `dim`), dropping that dim */
  select(dim: number, index: number): Tensor { return ops.select(this, dim, index); }
  /** the transpose of all dims (reversed order), as PyTorch's deprecated `.T` for any rank */
  get T(): Tensor { return ops.permute(this, [...Array(this.ndim).keys()].reverse()); }
  contiguous(): Tensor { return ops.contiguous(this); }
  clone(): Tensor { return ops.clone(this); }
  flip(dims: number | number[]): Tensor { return ops.flip(this, dims); }
  repeat(...reps: number[] | [number[]]): Tensor { return ops.repeat(this, flatArgs(reps)); }
  split(sizeOrSections: number | number[], dim = 0): Tensor[] { return ops.split(this, sizeOrSections, dim); }
  chunk(chunks: number, dim = 0): Tensor[] { return ops.chunk(this, chunks, dim); }
  tril(k = 0): Tensor { return ops.tril(this, k); }
  triu(k = 0): Tensor { return ops.triu(this, k); }
  gather(dim: number, index: Tensor): Tensor { return ops.gather(this, dim, index); }
  indexSelect(dim: number, index: Tensor): Tensor { return ops.indexSelect(this, dim, index); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return ops.scatterAdd(this, dim, index, src); }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } { return ops.sort(this, dim, descending); }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } { return ops.topk(this, k, dim, largest); }
}

/**
 * @internal Throws a DisposedError naming the op and the argument when `t` is a disposed tensor:
 * `matmul: input 1 (shape [2,3]) was used after dispose()`. Dispatch checks every op input so.
 */
export function checkNotDisposed(op: string, t: TensorLike, what = 'tensor'): void {
  if (t instanceof Tensor && t.isDisposed) throw new DisposedError(op, `${what} (shape ${fmt(t.shape)}) was used after dispose()`);
}

/** Both sides of an in-place op, before the op's parts would name themselves (add, copy_). */
function checkInPlace(op: string, t: Tensor, other: TensorLike, alpha = 1): void {
  checkNotDisposed(op, t);
  checkNotDisposed(op, other, 'other');
  // as PyTorch: the result must keep the written tensor's dtype and shape, and no two of its
  // elements may share memory (a float result truncated into ints would be a silent wrong answer)
  let r = other instanceof Tensor ? promoteTypes(t.dtype, other.dtype) : promoteWithScalar(t.dtype, other);
  if ((op === 'div_' && !isFloat(r)) || !Number.isInteger(alpha)) r = isFloat(r) ? r : 'float32';
  if ((isFloat(r) && !isFloat(t.dtype)) || (t.dtype === 'bool' && r !== 'bool')) {
    const what = other instanceof Tensor ? `other ${other.dtype} ${fmt(other.shape)}` : `other ${String(other)}`;
    throw new DTypeError(op, `the result is ${r} (${what}${alpha !== 1 ? `, alpha ${alpha}` : ''}), which cannot be written into the ${t.dtype} tensor ${fmt(t.shape)}; cast it first, e.g. x.float()`);
  }
  if (other instanceof Tensor && !shapesEqual(broadcastShapes(op, t.shape, other.shape), t.shape)) {
    throw new ShapeError(op, `other ${fmt(other.shape)} broadcasts past the tensor written ${fmt(t.shape)}`);
  }
  checkNoSharedElements(op, t);
}

/** In-place writes into a stride-0 (expanded) view would write one location many times: refused, as PyTorch. */
function checkNoSharedElements(op: string, t: Tensor): void {
  if (t.strides.some((s, i) => s === 0 && t.shape[i] > 1)) {
    throw new DLError(op, `several elements of the tensor written ${fmt(t.shape)} (strides ${fmt(t.strides)}) share one memory location (an expanded view); clone() it first`);
  }
}

function flatArgs(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]);
}

/** @internal a new contiguous tensor around freshly made backend data */
export function fromHost(data: unknown, device: string, shape: readonly number[], dtype: DType): Tensor {
  const backend = getBackend(device);
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return new Tensor(new Storage(backend, data, dtype), [...shape], strides, 0, dtype);
}

/** @internal a tensor sharing `t`'s storage with another layout */
export function viewOf(t: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  const st = t.storage;
  st.retain();
  return new Tensor(st, shape, strides, offset, t.dtype);
}

/**
 * @internal Points `t` at `storage` (taking a reference; the caller keeps its own), keeping the
 * object, its shape, strides and offset: `storage` must hold the old storage's elements at the same
 * positions, possibly on another device. Every holder of `t` (an optimizer, a tied field) sees the
 * move; views made earlier keep the old storage. `Module.to` moves parameters in place with it.
 *
 *   const fresh = new Storage(gpu, gpu.upload(old.data, t.dtype), t.dtype);
 *   replaceStorage(t, fresh); fresh.release(); // t now lives on the GPU
 */
export function replaceStorage(t: Tensor, storage: Storage): void {
  swapStorage(t, storage);
}

/** @internal the same view, as a separate untracked object (autograd saves these) */
export function alias(t: Tensor): Tensor {
  return keep(viewOf(t, t.shape, t.strides, t.offset));
}

function nest(data: TypedArray, shape: readonly number[], dtype: DType): NestedArray {
  const conv = dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
  if (shape.length === 0) return conv(data[0]);
  const build = (dim: number, off: number): NestedArray[] => {
    const n = shape[dim];
    const out: NestedArray[] = new Array(n);
    if (dim === shape.length - 1) {
      for (let i = 0; i < n; i++) out[i] = conv(data[off + i]);
      return out;
    }
    let inner = 1;
    for (let d = dim + 1; d < shape.length; d++) inner *= shape[d];
    for (let i = 0; i < n; i++) out[i] = build(dim + 1, off + i * inner);
    return out;
  };
  return build(0, 0);
}

export function checkIndex(op: string, i: number, n: number, arg = 'index'): number {
  if (!Number.isInteger(i) || i < -n || i >= n) throw new IndexError(op, `${arg} ${i} is out of range for a dim of size ${n}`);
  return i < 0 ? i + n : i;
}
