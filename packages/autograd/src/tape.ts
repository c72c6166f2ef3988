import { isFloat, addDispatchListener, type CustomOpInfo, type DispatchListener, type Tensor } from '@dl/tensor';
import { gradMode, hooks, alias, viewOf, type Primitive, type PrimitiveAttrs } from '@dl/tensor/internal';
import { AsyncCallbackError, InplaceModificationError } from './errors.js';
import { rules, type GradRule, type Grads, type TensorMeta } from './rules/index.js';

/**
 * Where an input's gradient goes: the node that computed it, the leaf tensor itself (its .grad),
 * or nowhere (the input does not require grad).
 */
export type Edge = Node | Tensor | null;

/** A tensor kept for backward: an untracked alias plus what is needed to check and reconnect it. */
interface Saved {
  t: Tensor;
  /** storage version when saved; a different version at backward means an in-place change */
  version: number;
  /** the saved tensor's own node (null for leaves and for the node's output, see isOutput) */
  gradFn: Node | null;
  /** the saved tensor when it is a leaf that requires grad (second-order gradients flow to it) */
  leaf: Tensor | null;
  /** the node's own output (its gradFn is the node, which does not exist yet at save time) */
  isOutput: boolean;
}

export type Apply = (g: Tensor, saved: readonly Tensor[], needs: readonly boolean[]) => Grads;

/**
 * One recorded op: where its input gradients go, what it saved, how to map its output gradient.
 *
 * Nodes are reference-counted, so a graph nobody can backpropagate any more frees its saved
 * tensors at once (when the scope that made it ends, or its output is disposed) rather than at
 * garbage collection, which a loop that only awaits promises never reaches. A node is referenced
 * by every live tensor whose gradFn it is and by every node that leads to it (an input edge, or a
 * saved tensor that createGraph reconnects); at zero it releases its saved tensors and its own
 * references. Backward from any live tensor reaches only nodes with references.
 */
export class Node {
  /** set once backward released the saved tensors (only nodes that saved any) */
  released = false;
  /** live tensors with this gradFn + references from the nodes in `held` of later nodes */
  refs = 0;
  /** the nodes this one keeps alive: its input edges' nodes and its saved tensors' nodes */
  private held: Node[];
  constructor(
    /** primitive or custom-function name, for error messages */
    readonly name: string,
    readonly next: readonly Edge[],
    public saved: (Saved | null)[],
    /** null for non-tensor arguments of a custom function */
    readonly inputs: readonly (TensorMeta | null)[],
    readonly apply: Apply,
  ) {
    this.held = [];
    for (const e of next) if (e instanceof Node) this.held.push(e);
    for (const sv of saved) if (sv?.gradFn) this.held.push(sv.gradFn);
    for (const n of this.held) n.refs++;
  }

  /** Drops one reference; at zero frees this node's saved tensors and, in turn, its references. */
  static unref(node: Node): void {
    const stack = [node];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.refs <= 0 || --n.refs > 0) continue;
      release(n);
      stack.push(...n.held);
      n.held = [];
    }
  }
}

// a tensor taking or giving up a node as its gradFn (dispose, collection) counts as a reference
hooks.retainGradFn = (fn) => {
  if (fn instanceof Node) fn.refs++;
};
hooks.releaseGradFn = (fn) => {
  if (fn instanceof Node) Node.unref(fn);
};

export const meta = (t: Tensor): TensorMeta => ({ shape: t.shape, strides: t.strides, dtype: t.dtype, device: t.device });

export function edgeOf(t: Tensor): Edge {
  return t.gradFn instanceof Node ? t.gradFn : t;
}

/** Aliases `t` (null stays null) so that scopes and later disposal of `t` leave it alive. */
export function pack(t: Tensor | null, out: Tensor): Saved | null {
  if (t === null) return null;
  const isOutput = t === out;
  return {
    t: alias(t),
    version: t.version,
    gradFn: !isOutput && t.gradFn instanceof Node ? t.gradFn : null,
    leaf: !isOutput && t.requiresGrad && t.gradFn === null ? t : null,
    isOutput,
  };
}

/**
 * The saved tensor for a rule. Under createGraph it is reconnected to the graph (a view carrying
 * the original node, or the leaf itself), so the gradient it computes is differentiable.
 */
export function unpack(s: Saved | null, node: Node, createGraph: boolean): Tensor {
  if (s === null) return null as unknown as Tensor; // a slot the rule declared it will not read
  if (s.t.version !== s.version) {
    throw new InplaceModificationError(
      'backward',
      `a tensor ${JSON.stringify(s.t.shape)} saved by '${node.name}' was modified in place after it was saved (version ${s.version} -> ${s.t.version}); ` +
        'clone() it before the in-place update, or update it after backward()',
    );
  }
  if (!createGraph) return s.t;
  const fn = s.isOutput ? node : s.gradFn;
  if (fn !== null) {
    const v = viewOf(s.t, s.t.shape, s.t.strides, s.t.offset);
    v.requiresGrad = true;
    v.gradFn = fn;
    return v;
  }
  if (s.leaf !== null && !s.leaf.isDisposed) return s.leaf;
  return s.t;
}

/** @internal test instrumentation: sees the name of every recorded primitive */
export const trace: { onRecord: ((prim: Primitive) => void) | null } = { onRecord: null };

function record<P extends Primitive>(prim: P, inputs: readonly Tensor[], attrs: PrimitiveAttrs[P], out: Tensor, custom: CustomOpInfo | null): void {
  if (!isFloat(out.dtype)) return; // integer and bool results never require grad
  // a built-in primitive's rule, or the one a custom op (defineOp) carries
  const rule = (custom === null ? rules[prim] : custom.grad) as GradRule<P> | null;
  if (rule === null || rule.differentiable === false) return;
  const needs = inputs.map((t) => t.requiresGrad && isFloat(t.dtype));
  if (!needs.includes(true)) return;
  const saved = rule.save ? rule.save(inputs, out, attrs, needs).map((t) => pack(t, out)) : [];
  const inputMeta = inputs.map(meta);
  const outMeta = meta(out);
  const node = new Node(
    prim,
    inputs.map((t, i) => (needs[i] ? edgeOf(t) : null)),
    saved,
    inputMeta,
    (g, s, n) => rule.backward(g, { attrs, saved: s, inputs: inputMeta, out: outMeta, needs: n }),
  );
  attach(out, node);
  trace.onRecord?.(prim);
}

/** Open captures: each collects the nodes made while it is open (see captureNodes). */
const captures: Node[][] = [];

/** Makes `node` the gradFn of `out`. */
export function attach(out: Tensor, node: Node): void {
  out.requiresGrad = true;
  out.gradFn = node;
  for (const c of captures) c.push(node);
}

/** Runs fn and returns the nodes recorded meanwhile (nested captures each see them). */
export function captureNodes<T>(fn: () => T): { result: T; nodes: Node[] } {
  const nodes: Node[] = [];
  captures.push(nodes);
  try {
    return { result: fn(), nodes };
  } finally {
    captures.splice(captures.indexOf(nodes), 1);
  }
}

/** Disposes the saved tensors of `node`; a later backward through it throws FreedGraphError. */
export function release(node: Node): void {
  if (node.saved.length === 0) return;
  for (const s of node.saved) s?.t.dispose();
  node.saved = [];
  node.released = true;
}

// Autograd's dispatch listener: @dl/tensor calls it only while grad mode is on and an input requires grad.
addDispatchListener(record as DispatchListener, { gradOnly: true, name: 'autograd' });

/** Whether operations are recorded for autograd now. */
export function isGradEnabled(): boolean {
  return gradMode.enabled;
}

/**
 * Runs `fn` (synchronously) with grad mode set to `enabled`, restoring the previous mode after.
 * An async `fn` is refused: the code after its first await would run in whatever mode is current
 * then, and JavaScript has no async context (in the browser) that could carry the mode along.
 */
export function withGradMode<T>(enabled: boolean, fn: () => T, op: string = enabled ? 'enableGrad' : 'noGrad'): T {
  const prev = gradMode.enabled;
  gradMode.enabled = enabled;
  let result: T;
  try {
    result = fn();
  } finally {
    gradMode.enabled = prev;
  }
  if (result !== null && typeof (result as { then?: unknown })?.then === 'function') {
    // fn goes on running; its eventual rejection is not the caller's any more (this error is)
    (result as PromiseLike<unknown>).then(undefined, () => {});
    throw new AsyncCallbackError(
      op,
      'fn returned a Promise; grad mode cannot follow code past an await, so fn must be synchronous. ' +
        `Await outside it: const y = ${op}(() => model.forward(x)); await y.data()`,
    );
  }
  return result;
}
