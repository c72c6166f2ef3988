import { isParameter as isAutogradParameter, noGrad, parameter } from '@dl/autograd';
import { DLError, DTypeError, DeviceError, ShapeError, isFloat, Tensor, fmt, getBackend, keep, type Backend, type TypedArray } from '@dl/tensor';
import { Storage, replaceStorage, type TensorInfo } from '@dl/tensor/internal';
import { optimizerStateOf } from './optim/optimizer.js';

/**
 * A trainable parameter made from `t` (@dl/autograd's Parameter: a leaf that requires grad and
 * outlives scopes). Assign it to a field and the module finds it.
 *
 *   this.weight = param(randn([out, in]));
 */
export function param(t: Tensor, requiresGrad = true): Tensor {
  return parameter(t, requiresGrad);
}

/** True for tensors a Module treats as parameters when it walks its fields: Parameters and grad-requiring leaves. */
export function isParameter(v: unknown): v is Tensor {
  if (!(v instanceof Tensor)) return false;
  return (v.requiresGrad && v.isLeaf) || isAutogradParameter(v);
}

/** Missing, unexpected and wrongly shaped keys found by `loadStateDict`. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
  /** `name: expected [..], got [..]` */
  shapeMismatches: string[];
}

/** A state dict that does not fit the module; the message lists every problem by name. */
export class StateDictError extends DLError {
  constructor(
    op: string,
    readonly result: LoadResult,
  ) {
    const parts: string[] = [];
    if (result.missingKeys.length) parts.push(`missing keys: ${result.missingKeys.join(', ')}`);
    if (result.unexpectedKeys.length) parts.push(`unexpected keys: ${result.unexpectedKeys.join(', ')}`);
    if (result.shapeMismatches.length) parts.push(`shape mismatches: ${result.shapeMismatches.join('; ')}`);
    super(op, parts.join('; '));
  }
}

export type StateDict = Record<string, Tensor>;

/** Tensors on one storage that move together, and the span of it they use. */
interface MoveGroup {
  storage: Storage;
  tensors: Tensor[];
  /** the storage from element 0 to the last one its tensors reach, as a 1-D view */
  whole: TensorInfo & { shape: number[] };
}

/** Gives every tensor of `g` one new storage on `target` holding `values` (the old storage's span). */
function moveGroup(g: MoveGroup, target: Backend, values: TypedArray): void {
  const fresh = new Storage(target, target.upload(values, g.storage.dtype), g.storage.dtype);
  for (const t of g.tensors) replaceStorage(t, fresh);
  fresh.release(); // the tensors hold their own references now
}

/** A DLError on its way out of nested forwards: the innermost layer, and the message after its label. */
interface Labelled {
  module: Module;
  /** the message is `label + rest` */
  rest: string;
  /** when the layer's own check raised it (op = its label): the op is `label + opRest` */
  opRest: string | null;
}
const labelled = new WeakMap<DLError, Labelled>();

interface BufferSlot {
  value: Tensor | null;
  persistent: boolean;
}

/**
 * Base class of every layer and model. Children and parameters are found by walking the
 * instance's own fields (in declaration order): Modules, parameter tensors (see `param`),
 * arrays or Maps of Modules, and arrays of parameters. Names are dotted paths as in PyTorch (`features.0.weight`).
 *
 * Fields written with JavaScript's `#private` syntax are invisible to that walk (nothing can
 * enumerate them): a layer kept in `#fc` has no parameters in `parameters()`, `stateDict()` or
 * `to()`. Use ordinary fields (TypeScript's `private` is fine), or override `entries()`. An
 * optimizer given an empty parameter list says so.
 *
 *   class Net extends Module {
 *     fc1 = new Linear(784, 128);
 *     private fc2 = new Linear(128, 10); // found: `private` is only a type-checker notion
 *     forward(x: Tensor) { return this.fc2.forward(this.fc1.forward(x).relu()); }
 *   }
 */
export abstract class Module {
  /** training mode (dropout active, batch norm uses batch statistics) */
  training = true;
  readonly #buffers = new Map<string, BufferSlot>();
  readonly #extraParams = new Map<string, Tensor | null>();
  // set by the parent whenever it walks its fields; gives layer paths in error messages
  #parent: Module | null = null;
  #name = '';

  abstract forward(...args: never[]): unknown;

  constructor() {
    // The subclass's forward, run inside one try/catch that puts this layer's path in front of a
    // DLError's message (`features.3 (Conv2d): conv2d: ...`). A non-enumerable own property, so
    // the walk, state dicts and Object.keys never see it.
    const forward = this.forward as unknown as (...args: unknown[]) => unknown;
    if (typeof forward !== 'function') return;
    Object.defineProperty(this, 'forward', {
      value: (...args: unknown[]): unknown => {
        try {
          return forward.apply(this, args);
        } catch (e) {
          throw this.#labelError(e, args);
        }
      },
      writable: true,
      configurable: true,
    });
  }

  // ---- registration ---------------------------------------------------------------------------

  /**
   * Registers a buffer under its PyTorch name (`running_mean`); persistent buffers go into the
   * state dict. Layers expose them through camelCase getters.
   */
  protected registerBuffer(name: string, value: Tensor | null, persistent = true): void {
    this.#buffers.set(name, { value: value && keep(value), persistent });
  }
  protected buffer(name: string): Tensor | null {
    return this.#buffers.get(name)?.value ?? null;
  }
  protected setBuffer(name: string, value: Tensor | null): void {
    const slot = this.#buffers.get(name);
    if (!slot) throw new DLError(this.label(), `no buffer named '${name}'`);
    slot.value = value && keep(value);
  }
  /** Registers a parameter whose PyTorch name is not a field name (`in_proj_weight`). */
  protected registerParameter(name: string, value: Tensor | null): void {
    this.#extraParams.set(name, value === null ? null : param(value));
  }
  protected parameter(name: string): Tensor | null {
    return this.#extraParams.get(name) ?? null;
  }

  /** The (name, value) pairs that make up this module's own structure, in order (override to expose `#private` children). */
  protected entries(): Iterable<[string, unknown]> {
    return Object.entries(this);
  }

  // ---- walking --------------------------------------------------------------------------------

  /** Direct children with their names (array items and Map entries get `field.i` / `field.key`). */
  *namedChildren(): Generator<[string, Module]> {
    for (const [name, child] of this.#childEntries()) {
      if (child.#parent === null) this.#adopt(name, child); // labels a layer used before any walk
      yield [name, child];
    }
  }
  *#childEntries(): Generator<[string, Module]> {
    for (const [k, v] of this.entries()) {
      if (v instanceof Module) yield [k, v];
      else if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (v[i] instanceof Module) yield [`${k}.${i}`, v[i]];
      } else if (v instanceof Map) {
        for (const [key, m] of v) if (m instanceof Module) yield [`${k}.${String(key)}`, m];
      }
    }
  }
  /** Records where `child` sits (its path in errors), unless it sits above this one (a cycle). */
  #adopt(name: string, child: Module): void {
    for (let m: Module | null = this; m; m = m.#parent) if (m === child) return;
    child.#parent = this;
    child.#name = name;
  }
  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /**
   * This module and every descendant, depth first, with dotted paths ('' for this one). As
   * PyTorch's named_modules, a module reachable twice (shared, or through a reference cycle such
   * as a child holding its parent) is yielded once, under its first path; with `removeDuplicate`
   * false a shared module comes under each path, and only cycles are cut.
   */
  *namedModules(prefix = '', removeDuplicate = true): Generator<[string, Module]> {
    yield* this.#walk(prefix, removeDuplicate, new Set(), new Set([this]));
  }
  *#walk(prefix: string, removeDuplicate: boolean, onPath: Set<Module>, placed: Set<Module>): Generator<[string, Module]> {
    yield [prefix, this];
    onPath.add(this);
    for (const [name, child] of this.#childEntries()) {
      if (onPath.has(child)) continue; // a reference back up: a cycle
      const first = !placed.has(child);
      if (!first && removeDuplicate) continue;
      if (first) {
        placed.add(child);
        this.#adopt(name, child); // a module's path is the first one a walk finds, as named_modules
      }
      yield* child.#walk(prefix ? `${prefix}.${name}` : name, removeDuplicate, onPath, placed);
    }
    onPath.delete(this);
  }
  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /** This module's own parameters (not its children's), fields first then registered ones. */
  *ownParameters(): Generator<[string, Tensor]> {
    for (const [k, v] of this.entries()) {
      if (isParameter(v)) yield [k, v];
      // an array of parameters is PyTorch's ParameterList: items are named field.0, field.1, ...
      else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) if (isParameter(v[i])) yield [`${k}.${i}`, v[i]];
    }
    for (const [k, v] of this.#extraParams) if (v) yield [k, v];
  }

  /** Every parameter with its dotted name, as PyTorch's named_parameters (shared ones once). */
  *namedParameters(): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules()) {
      for (const [k, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [path ? `${path}.${k}` : k, p];
      }
    }
  }
  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /** Every buffer with its dotted name and whether it is persistent (in the state dict). */
  *namedBuffers(): Generator<[string, Tensor, boolean]> {
    for (const [path, m] of this.namedModules()) {
      for (const [k, slot] of m.#buffers) if (slot.value) yield [path ? `${path}.${k}` : k, slot.value, slot.persistent];
    }
  }
  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }

  /** Number of parameter elements (trainable only with `trainableOnly`). */
  numParameters(trainableOnly = false): number {
    return this.parameters().reduce((n, p) => n + (trainableOnly && !p.requiresGrad ? 0 : p.size), 0);
  }

  // ---- modes, devices, visitors ---------------------------------------------------------------

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Calls fn on every descendant (children first) and then on this module, as PyTorch's apply; each module once. */
  apply(fn: (m: Module) => void): this {
    this.#applyOnce(fn, new Set());
    return this;
  }
  #applyOnce(fn: (m: Module) => void, seen: Set<Module>): void {
    if (seen.has(this)) return;
    seen.add(this);
    for (const c of this.children()) c.#applyOnce(fn, seen);
    fn(this);
  }

  /**
   * Moves every parameter (with its `.grad`), every buffer, and the state optimizers keep for the
   * parameters (Adam's moments, ...) to `device`, in place: the tensor objects stay the same, so an
   * optimizer built before the move keeps training, tied weights stay tied, and other holders
   * see the move (as PyTorch's `module.to`). Synchronous when the data can be read synchronously
   * (from the CPU to any device); from a device that reads asynchronously (WebGPU) it throws a
   * DeviceError before moving anything: use `await model.toAsync(device)`.
   *
   *   const opt = new Adam(model.parameters());
   *   model.to('webgpu');          // opt trains the moved parameters
   */
  to(device: string): this {
    const target = getBackend(device, `${this.label()}.to`);
    const groups = this.#storagesToMove(device);
    for (const g of groups) {
      if (!g.storage.backend.readSync) {
        throw new DeviceError(
          `${this.label()}.to`,
          `reads from '${g.storage.backend.name}' are asynchronous; use await model.toAsync('${device}') (first tensor: shape ${fmt(g.tensors[0].shape)})`,
        );
      }
    }
    for (const g of groups) moveGroup(g, target, g.storage.backend.readSync!(g.whole));
    return this;
  }

  /**
   * `to(device)` for every direction, reading asynchronously where the source needs it (WebGPU ->
   * CPU); the same objects move in place. Resolves to this module.
   *
   *   await model.toAsync('cpu'); // back from the GPU, e.g. to save or inspect
   */
  async toAsync(device: string): Promise<this> {
    const target = getBackend(device, `${this.label()}.toAsync`);
    const groups = this.#storagesToMove(device);
    // every read is queued before the first is awaited: one submission on WebGPU
    const values = await Promise.all(groups.map((g) => g.storage.backend.read(g.whole)));
    groups.forEach((g, i) => {
      // a tensor disposed or moved while the reads were pending is left as it is now
      const live = g.tensors.filter((t) => !t.isDisposed && t.storage === g.storage);
      if (live.length) moveGroup({ ...g, tensors: live }, target, values[i]);
    });
    return this;
  }

  /** Tensors to move (parameters, their grads, buffers, optimizer state), grouped by storage so views stay views. */
  #storagesToMove(device: string): MoveGroup[] {
    const tensors = new Set<Tensor>();
    for (const p of this.parameters()) {
      tensors.add(p);
      if (p.grad) tensors.add(p.grad);
      for (const t of optimizerStateOf(p)) tensors.add(t);
    }
    for (const b of this.buffers()) tensors.add(b);
    const groups = new Map<Storage, MoveGroup>();
    for (const t of tensors) {
      if (t.isDisposed || t.device === device) continue;
      const st = t.storage;
      let g = groups.get(st);
      if (!g) groups.set(st, (g = { storage: st, tensors: [], whole: { data: st.data, shape: [0], strides: [1], offset: 0, dtype: st.dtype } }));
      g.tensors.push(t);
      // read the storage from 0 to the last element any of its tensors reaches, so layouts stay
      let last = t.offset;
      for (let d = 0; d < t.ndim; d++) last += (t.shape[d] - 1) * t.strides[d];
      if (t.size > 0) g.whole.shape = [Math.max(g.whole.shape[0], last + 1)];
    }
    return [...groups.values()];
  }

  // ---- state ----------------------------------------------------------------------------------

  /**
   * Parameters and persistent buffers by dotted name (the tensors themselves, not copies).
   *
   *   saveSafetensors('model.safetensors', model.stateDict());
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    // a shared module appears under each of its names, as in PyTorch's state_dict
    for (const [path, m] of this.namedModules('', false)) {
      const pre = path ? `${path}.` : '';
      for (const [k, p] of m.ownParameters()) out[pre + k] = p;
      for (const [k, slot] of m.#buffers) if (slot.value && slot.persistent) out[pre + k] = slot.value;
    }
    return out;
  }

  /**
   * Copies values from `sd` into this module's parameters and buffers (in place, so optimizers
   * keep working). With `strict` (the default) any missing key, unexpected key or shape mismatch
   * throws a StateDictError naming all of them; otherwise they are returned.
   */
  loadStateDict(sd: StateDict | Map<string, Tensor>, { strict = true }: { strict?: boolean } = {}): LoadResult {
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const result: LoadResult = { missingKeys: [], unexpectedKeys: [], shapeMismatches: [] };
    const targets: [string, Tensor, Tensor][] = [];
    const known = new Set<string>();
    for (const [name, t] of Object.entries(this.stateDict())) {
      known.add(name);
      const v = src.get(name);
      if (!v) result.missingKeys.push(name);
      else if (v.size !== t.size || v.shape.some((d, i) => d !== t.shape[i]) || v.ndim !== t.ndim) {
        result.shapeMismatches.push(`${name}: expected ${fmt(t.shape)}, got ${fmt(v.shape)}`);
      } else targets.push([name, t, v]);
    }
    for (const k of src.keys()) if (!known.has(k)) result.unexpectedKeys.push(k);
    const bad = result.missingKeys.length + result.unexpectedKeys.length + result.shapeMismatches.length;
    if (strict && bad) throw new StateDictError(`loadStateDict (${this.constructor.name})`, result);
    noGrad(() => {
      for (const [, dst, v] of targets) {
        // convert on the source device first: the destination may not hold v's dtype (webgpu has no float64)
        const typed = v.device === dst.device ? v : v.cast(dst.dtype);
        const moved = typed.device === dst.device ? typed : typed.to(dst.device);
        dst.copy_(moved);
        if (moved !== v) moved.dispose();
        if (typed !== v && typed !== moved) typed.dispose();
      }
    });
    return result;
  }

  /** Sets requiresGrad on every parameter (freezing with false). */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  // ---- errors and printing --------------------------------------------------------------------

  /**
   * Dotted path of this module in the model it belongs to ('' at the root). Known once the model
   * has been walked (parameters(), train(), stateDict(), toString(), ... or Sequential.forward).
   */
  get path(): string {
    const parts: string[] = [];
    for (let m: Module | null = this; m && m.#parent; m = m.#parent) parts.push(m.#name);
    return parts.reverse().join('.');
  }
  /** `features.3 (Conv2d)`, or `Conv2d` for a root: the op name in this layer's errors. */
  label(): string {
    const p = this.path;
    return p ? `${p} (${this.constructor.name})` : this.constructor.name;
  }
  /**
   * Labels a DLError leaving this module's forward with the innermost layer's path: the first
   * forward it leaves records that layer (a layer's own check, whose op is already its label, is
   * not prefixed twice); each forward it then leaves walks its own subtree, so the path grows to
   * the full one from the outermost module called, even in a model never walked before.
   */
  #labelError(e: unknown, args: readonly unknown[]): unknown {
    if (!(e instanceof DLError)) return e;
    let l = labelled.get(e);
    if (!l) {
      const own = this.label();
      const mine = e.op === own || e.op.startsWith(`${own}.`);
      l = mine ? { module: this, rest: e.message.slice(own.length), opRest: e.op.slice(own.length) } : { module: this, rest: `: ${e.message}`, opRest: null };
      if (e instanceof DeviceError) l.rest += this.#devices(args);
      labelled.set(e, l);
    }
    try {
      for (const _ of this.#walk('', true, new Set(), new Set([this])));
    } catch {
      // a field getter that throws while walking: keep the path found so far, and the error
    }
    const label = l.module.label();
    const before = e.message;
    e.message = label + l.rest;
    e.layer = label;
    if (l.opRest !== null) (e as { op: string }).op = label + l.opRest;
    if (e.stack) e.stack = e.stack.replace(before, e.message);
    return e;
  }

  /** `; the layer holds weight [10,32] on cpu, ...; its forward got input [2,32] on webgpu`: for a DeviceError. */
  #devices(args: readonly unknown[]): string {
    const where = (t: Tensor) => `${fmt(t.shape)} on ${t.isDisposed ? 'a disposed tensor' : t.device}`;
    const own = [...this.ownParameters()].map(([k, t]) => `${k} ${where(t)}`);
    for (const [k, slot] of this.#buffers) if (slot.value) own.push(`${k} ${where(slot.value)}`);
    const tensors = args.map((a, i) => [i, a] as const).filter((x): x is readonly [number, Tensor] => x[1] instanceof Tensor);
    const got = tensors.map(([i, t]) => `${args.length === 1 ? 'input' : `argument ${i}`} ${where(t)}`);
    return `${own.length ? `; the layer holds ${own.join(', ')}` : ''}${got.length ? `; its forward got ${got.join(', ')}` : ''}`;
  }

  /**
   * Checks x's rank and the sizes given (null = any) and throws a ShapeError naming this layer:
   * `features.3 (Conv2d): expected input [N,16,H,W], got [8,3,32,32]`.
   */
  protected checkInput(x: Tensor, expected: (number | null)[], names: string[]): void {
    const ok = x.ndim === expected.length && expected.every((e, i) => e === null || x.shape[i] === e);
    if (!ok) {
      const want = expected.map((e, i) => (e === null ? names[i] : String(e))).join(',');
      throw new ShapeError(this.label(), `expected input [${want}], got ${fmt(x.shape)}`);
    }
  }

  /**
   * Throws a DTypeError naming this layer when x is not a float tensor (PyTorch refuses an int
   * input to a layer with float weights rather than casting it):
   * `fc (Linear): expected a float input, got int32 [8,784]`.
   */
  protected checkFloat(x: Tensor, arg = 'input'): void {
    if (!isFloat(x.dtype)) throw new DTypeError(this.label(), `expected a float ${arg}, got ${x.dtype} ${fmt(x.shape)}`);
  }

  /** One-line description of this layer's own settings, shown by toString(). */
  protected extraRepr(): string {
    return '';
  }

  /** PyTorch-style tree with each module's parameter count and a total. */
  toString(): string {
    const lines = this.#reprLines(new Set());
    const total = this.numParameters();
    const trainable = this.numParameters(true);
    lines.push(`Parameters: ${total.toLocaleString('en-US')}${trainable !== total ? ` (${trainable.toLocaleString('en-US')} trainable)` : ''}`);
    return lines.join('\n');
  }

  #reprLines(above: Set<Module>): string[] {
    const name = this.constructor.name;
    if (above.has(this)) return [`${name} (a reference to a module above)`];
    above.add(this);
    const kids = [...this.namedChildren()];
    const count = this.numParameters();
    const extra = this.extraRepr();
    if (!kids.length) return [`${name}(${extra})${count ? `  # ${count.toLocaleString('en-US')} params` : ''}`];
    const out = [`${name}(${extra ? `${extra}, ` : ''}  # ${count.toLocaleString('en-US')} params`];
    for (const [k, c] of kids) {
      const sub = c.#reprLines(above);
      out.push(`  (${k}): ${sub[0]}`);
      for (const l of sub.slice(1)) out.push(`  ${l}`);
    }
    above.delete(this);
    out.push(')');
    return out;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
