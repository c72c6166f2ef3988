import { noGrad } from '@dl/autograd';
import { DLError, Tensor, keep, scope } from '@dl/tensor';
import { checkFlag, checkNumber, show } from '../args.js';

/** Hyperparameters every optimizer has; each optimizer adds its own. */
export interface BaseOptions {
  lr: number;
}

/** A group of parameters sharing hyperparameters (any option left out takes the default). */
export type ParamGroupInput<O> = { params: Iterable<Tensor> } & Partial<O>;
export type ParamGroup<O> = O & { params: Tensor[] };

/** Per-parameter state: tensors (moment estimates, buffers) and numbers (step counts). */
export type ParamState = Record<string, Tensor | number>;

/** What stateDict() returns: state by parameter index (over all groups, in order) and the groups. */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: Record<string, unknown>[];
}

// every optimizer alive, weakly, so Module.to can move the state each keeps for a parameter
const live = new Set<WeakRef<Optimizer<BaseOptions>>>();
const collected = new FinalizationRegistry<WeakRef<Optimizer<BaseOptions>>>((ref) => live.delete(ref));

/**
 * @internal The state tensors live optimizers keep for `p` (Adam's moments, momentum buffers);
 * `Module.to` moves them with the parameter, so an optimizer built before the move keeps working.
 */
export function optimizerStateOf(p: Tensor): Tensor[] {
  const out: Tensor[] = [];
  for (const ref of live) {
    const st = ref.deref()?.state.get(p);
    if (st) for (const v of Object.values(st)) if (v instanceof Tensor && !v.isDisposed) out.push(v);
  }
  return out;
}

/** @internal [b1, b2], each in [0, 1), as Adam's betas */
export function checkBetas(op: string, name: string, v: unknown): void {
  if (!Array.isArray(v) || v.length !== 2) throw new DLError(op, `${name} must be two numbers, got ${show(v)}`);
  v.forEach((b, i) => checkNumber(op, `${name}[${i}]`, b, 0, 1, '[)'));
}

/**
 * Base of SGD, Adam, AdamW and RMSprop. Updates run in place inside noGrad and a memory scope;
 * state tensors are kept out of scopes so they live as long as the optimizer.
 *
 *   const opt = new Adam(model.parameters(), { lr: 1e-3 });
 *   opt.zeroGrad(); loss.backward(); opt.step();
 */
export abstract class Optimizer<O extends BaseOptions = BaseOptions> {
  readonly paramGroups: ParamGroup<O>[];
  readonly state = new Map<Tensor, ParamState>();
  readonly defaults: O;

  constructor(params: Iterable<Tensor> | ParamGroupInput<O>[], defaults: O) {
    // PyTorch's constructors check these; a later change (an LR scheduler) is not checked, as there
    checkNumber(this.constructor.name, 'lr', defaults.lr); // the one option without a default (SGD)
    this.checkOptions(defaults, '');
    this.defaults = defaults;
    const list = [...(params as Iterable<Tensor | ParamGroupInput<O>>)];
    const groups: ParamGroupInput<O>[] = list.length && !(list[0] instanceof Tensor) ? (list as ParamGroupInput<O>[]) : [{ params: list as Tensor[] } as unknown as ParamGroupInput<O>];
    this.paramGroups = [];
    for (const g of groups) this.addParamGroup(g);
    if (!this.paramGroups.some((g) => g.params.length)) {
      throw new DLError(
        this.constructor.name,
        'got an empty parameter list. If it came from model.parameters(): layers kept in #private fields are invisible to the ' +
          'module walk (JavaScript cannot enumerate them); use ordinary fields (TypeScript `private` is fine)',
      );
    }
    const ref = new WeakRef<Optimizer<BaseOptions>>(this as unknown as Optimizer<BaseOptions>);
    live.add(ref);
    collected.register(this, ref);
  }

  /** Adds a group (e.g. layers unfrozen later); options left out (or undefined) take the defaults. */
  addParamGroup(group: ParamGroupInput<O>): void {
    const { params: given, ...rest } = group;
    const own = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<O>;
    this.checkOptions(own, `param group ${this.paramGroups.length}: `);
    const params = [...given];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) {
      if (!(p instanceof Tensor)) throw new DLError(this.constructor.name, 'params must be tensors');
      if (!p.isLeaf) throw new DLError(this.constructor.name, `can only optimize leaf tensors (shape [${p.shape.join(',')}] is computed)`);
      if (seen.has(p)) throw new DLError(this.constructor.name, `a parameter (shape [${p.shape.join(',')}]) appears in more than one group`);
      seen.add(p);
    }
    this.paramGroups.push({ ...this.defaults, ...own, params });
  }

  /**
   * Throws a DLError naming the optimizer and the argument when a hyperparameter in `o` is out of
   * the range PyTorch's constructor accepts (`where` prefixes the message, e.g. 'param group 1: ').
   * Subclasses check their own options and call this for lr.
   */
  protected checkOptions(o: Partial<O>, where: string): void {
    this.checkRange(o, 'lr', where);
  }

  /** Checks that o[key], when given, is a finite number in [min, max] (or [min, max) with `openMax`). */
  protected checkRange(o: Partial<O>, key: keyof O & string, where: string, max = Infinity, openMax = false): void {
    if (!(key in o)) return;
    checkNumber(this.constructor.name, `${where}${key}`, o[key], 0, max, openMax ? '[)' : '[]');
  }

  /** Checks that o[key], when given, is a boolean (a string 'false' would read as true). */
  protected checkFlag(o: Partial<O>, key: keyof O & string, where: string): void {
    if (key in o) checkFlag(this.constructor.name, `${where}${key}`, o[key]);
  }

  /** Drops every gradient (PyTorch's set_to_none=True): the next backward writes fresh ones. */
  zeroGrad(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    noGrad(() =>
      scope(() => {
        for (const group of this.paramGroups) {
          for (const p of group.params) {
            if (!p.grad) continue;
            let st = this.state.get(p);
            if (!st) this.state.set(p, (st = {}));
            this.update(p, p.grad, group, st);
          }
        }
      }),
    );
  }

  /** One parameter's update; runs inside noGrad and a scope. Store new state with `this.keepState`. */
  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup<O>, state: ParamState): void;

  /** Stores a state tensor so the step's scope does not free it (disposing what it replaces). */
  protected keepState(state: ParamState, key: string, t: Tensor): Tensor {
    const old = state[key];
    if (old instanceof Tensor && old !== t) old.dispose();
    state[key] = keep(t);
    return t;
  }

  /** State by parameter index and the groups' hyperparameters, for checkpoints. */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    const paramGroups: Record<string, unknown>[] = [];
    let i = 0;
    for (const g of this.paramGroups) {
      const { params, ...hyper } = g;
      const idx: number[] = [];
      for (const p of params) {
        const st = this.state.get(p);
        if (st) state[i] = { ...st };
        idx.push(i++);
      }
      paramGroups.push({ ...hyper, params: idx });
    }
    return { state, paramGroups };
  }

  /** Restores what stateDict() returned; the groups must hold the same number of parameters. */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new DLError(`${this.constructor.name}.loadStateDict`, `state has ${sd.paramGroups.length} param groups, optimizer has ${this.paramGroups.length}`);
    }
    const byIndex: Tensor[] = [];
    sd.paramGroups.forEach((sg, gi) => {
      const g = this.paramGroups[gi];
      const idx = sg.params as number[];
      if (idx.length !== g.params.length) {
        throw new DLError(`${this.constructor.name}.loadStateDict`, `param group ${gi} has ${idx.length} parameters in the state, ${g.params.length} in the optimizer`);
      }
      idx.forEach((k, j) => (byIndex[k] = g.params[j]));
      const { params: _drop, ...hyper } = sg;
      Object.assign(g, hyper);
    });
    for (const st of this.state.values()) for (const v of Object.values(st)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    for (const [k, st] of Object.entries(sd.state)) {
      const p = byIndex[Number(k)];
      if (!p) throw new DLError(`${this.constructor.name}.loadStateDict`, `state for parameter ${k}, which no group holds`);
      const copy: ParamState = {};
      for (const [name, v] of Object.entries(st)) {
        if (v instanceof Tensor) {
          if (v.size !== p.size && v.ndim !== 0) {
            throw new DLError(`${this.constructor.name}.loadStateDict`, `state '${name}' of parameter ${k} has shape [${v.shape.join(',')}], parameter has [${p.shape.join(',')}]`);
          }
          copy[name] = keep(v.device === p.device ? v.clone() : v.to(p.device));
        } else copy[name] = v;
      }
      this.state.set(p, copy);
    }
  }
}
