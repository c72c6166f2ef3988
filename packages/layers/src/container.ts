import { DLError, IndexError, type Tensor } from '@dl/tensor';
import { Module } from './module.js';

/** Anything with a one-argument forward: what Sequential chains. */
export interface Layer {
  forward(x: Tensor): Tensor;
}

/** Throws a DLError naming the container and the position or key when `m` is not a Module. */
function checkModule(container: string, key: number | string, m: unknown): void {
  if (m instanceof Module) return;
  const at = typeof key === 'number' ? String(key) : `'${key}'`;
  throw new DLError(container, `module ${at} is not a Module (got ${m === null ? 'null' : typeof m})`);
}

/**
 * Calls its modules in order; children are named 0, 1, 2, ... (or by key when built from a
 * record), as PyTorch's nn.Sequential.
 *
 *   const features = new Sequential(new Conv2d(1, 16, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2));
 *   features.forward(x);
 *   features.at(0); // the Conv2d; its parameters are named '0.weight', '0.bias'
 */
export class Sequential extends Module {
  readonly #items: [string, Module & Layer][];

  constructor(...modules: (Module & Layer)[] | [Record<string, Module & Layer>]) {
    super();
    const first = modules[0];
    const record = modules.length === 1 && typeof first === 'object' && first !== null && !(first instanceof Module);
    if (record) this.#items = Object.entries(first as Record<string, Module & Layer>);
    else this.#items = (modules as (Module & Layer)[]).map((m, i) => [String(i), m]);
    this.#items.forEach(([k, m], i) => checkModule('Sequential', record ? k : i, m));
  }

  protected override entries(): Iterable<[string, unknown]> {
    return this.#items;
  }

  get length(): number {
    return this.#items.length;
  }
  /** The i-th module (negative counts from the end). */
  at(i: number): Module & Layer {
    const n = this.#items.length;
    if (!Number.isInteger(i) || i < -n || i >= n) throw new IndexError('Sequential.at', `index ${i} is out of range for ${n} modules`);
    return this.#items[i < 0 ? i + n : i][1];
  }
  [Symbol.iterator](): Iterator<Module & Layer> {
    return this.#items.map(([, m]) => m)[Symbol.iterator]();
  }
  append(m: Module & Layer): this {
    checkModule('Sequential', this.#items.length, m);
    this.#items.push([String(this.#items.length), m]);
    return this;
  }

  forward(x: Tensor): Tensor {
    // walking the children names them, so shape errors inside carry their path
    for (const [, m] of this.namedChildren()) x = (m as Module & Layer).forward(x);
    return x;
  }
}

/**
 * A list of modules whose parameters belong to the parent (names 0, 1, ...); no forward of its
 * own, as PyTorch's nn.ModuleList.
 *
 *   this.blocks = new ModuleList(Array.from({ length: 4 }, () => new Block(cfg)));
 *   for (const b of this.blocks) x = b.forward(x);
 */
export class ModuleList<M extends Module = Module> extends Module {
  readonly #items: M[];

  constructor(modules: Iterable<M> = []) {
    super();
    this.#items = [...modules];
    this.#items.forEach((m, i) => checkModule('ModuleList', i, m));
  }

  protected override entries(): Iterable<[string, unknown]> {
    return this.#items.map((m, i) => [String(i), m] as [string, unknown]);
  }

  get length(): number {
    return this.#items.length;
  }
  at(i: number): M {
    const n = this.#items.length;
    if (!Number.isInteger(i) || i < -n || i >= n) throw new IndexError('ModuleList.at', `index ${i} is out of range for ${n} modules`);
    return this.#items[i < 0 ? i + n : i];
  }
  push(...ms: M[]): this {
    ms.forEach((m, i) => checkModule('ModuleList', this.#items.length + i, m));
    this.#items.push(...ms);
    return this;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }

  forward(): never {
    throw new DLError(this.label(), 'ModuleList has no forward; iterate over its modules');
  }
}

/**
 * Modules by name (insertion order), as PyTorch's nn.ModuleDict.
 *
 *   this.heads = new ModuleDict({ cls: new Linear(128, 10), box: new Linear(128, 4) });
 *   this.heads.get('cls').forward(h);
 */
export class ModuleDict<M extends Module = Module> extends Module {
  readonly #items: Map<string, M>;

  constructor(modules: Record<string, M> | Iterable<[string, M]> = {}) {
    super();
    this.#items = new Map(Symbol.iterator in modules ? (modules as Iterable<[string, M]>) : Object.entries(modules));
    for (const [k, m] of this.#items) checkModule('ModuleDict', k, m);
  }

  protected override entries(): Iterable<[string, unknown]> {
    return this.#items;
  }

  get size(): number {
    return this.#items.size;
  }
  get(key: string): M {
    const m = this.#items.get(key);
    if (!m) throw new DLError(this.label(), `no module named '${key}' (have: ${[...this.#items.keys()].join(', ')})`);
    return m;
  }
  has(key: string): boolean {
    return this.#items.has(key);
  }
  set(key: string, m: M): this {
    checkModule('ModuleDict', key, m);
    this.#items.set(key, m);
    return this;
  }
  keys(): IterableIterator<string> {
    return this.#items.keys();
  }
  [Symbol.iterator](): Iterator<[string, M]> {
    return this.#items[Symbol.iterator]();
  }

  forward(): never {
    throw new DLError(this.label(), 'ModuleDict has no forward; pick a module with get(key)');
  }
}
