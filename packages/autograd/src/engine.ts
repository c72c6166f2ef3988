import { DLError, DisposedError, ShapeError, fmt, keep, onesLike, scope, shapesEqual, type Tensor } from '@dl/tensor';
import { gradMode, hooks, runKernel } from '@dl/tensor/internal';
import { FreedGraphError, NonScalarBackwardError, RequiresGradError } from './errors.js';
import { Node, release, unpack, type Edge } from './tape.js';

export interface RunOptions {
  /**
   * which executed nodes keep their saved tensors: 'none' frees them all; 'referenced' (with
   * createGraph) keeps those the recorded gradient computation can still reach; 'all' frees none
   */
  retain: 'none' | 'referenced' | 'all';
  createGraph: boolean;
  /** return the gradients of these tensors instead of accumulating into leaves' .grad */
  inputs?: readonly Tensor[];
  /** a caller's tensor (the seed): never disposed, never stored as a .grad without a copy */
  userSeed?: Tensor;
  /** more nodes to free like executed ones (grad() passes the graph f built, which it discards) */
  alsoRelease?: readonly Node[];
}

type Key = Node | Tensor;

/** Nodes reachable from `root`, inputs before the nodes that consume them (DFS post-order). */
function postOrder(root: Node): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>([root]);
  const stack: { node: Node; i: number }[] = [{ node: root, i: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top.i < top.node.next.length) {
      const e = top.node.next[top.i++];
      if (e instanceof Node && !seen.has(e)) {
        seen.add(e);
        stack.push({ node: e, i: 0 });
      }
    } else {
      stack.pop();
      order.push(top.node);
    }
  }
  return order;
}

/** Every node reachable from `roots` through input edges. */
function reachableFrom(roots: Iterable<Node>): Set<Node> {
  const seen = new Set<Node>();
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const e of n.next) if (e instanceof Node && !seen.has(e)) stack.push(e);
  }
  return seen;
}

/**
 * Reverse-mode sweep from `root` seeded with `seed` (root's shape). Without `inputs` it
 * accumulates into the .grad of every leaf that requires grad and returns []; with `inputs` it
 * returns their gradients (null where unreached) and leaves every .grad alone.
 */
export function runBackward(root: Tensor, seed: Tensor, opts: RunOptions): (Tensor | null)[] {
  const prevMode = gradMode.enabled;
  gradMode.enabled = opts.createGraph;
  // gradients waiting to be consumed, and how many slots hold each tensor (to free it when none)
  const slots = new Map<Key, Tensor>();
  const uses = new Map<Tensor, number>();
  const handedOut = new Set<Tensor>();
  const hold = (t: Tensor): void => void uses.set(t, (uses.get(t) ?? 0) + 1);
  const drop = (t: Tensor): void => {
    const n = (uses.get(t) ?? 1) - 1;
    if (n > 0) return void uses.set(t, n);
    uses.delete(t);
    if (t !== opts.userSeed && !handedOut.has(t)) t.dispose();
  };
  const put = (key: Key, t: Tensor): void => {
    const cur = slots.get(key);
    if (cur === undefined) {
      slots.set(key, t);
      hold(t);
      return;
    }
    const s = cur.add(t);
    hold(s);
    slots.set(key, s);
    drop(cur);
  };
  // a tensor nobody else can see, so it may become a .grad and be updated in place later
  const exclusive = (t: Tensor): boolean =>
    t !== opts.userSeed && !handedOut.has(t) && (uses.get(t) ?? 0) <= 1 && t.storage.refs === 1 && t.offset === 0 && t.isContiguous();
  const own = (t: Tensor): Tensor => {
    if (exclusive(t)) return t;
    const c = runKernel('copy', [t], {}, t.shape, t.dtype);
    drop(t);
    return c;
  };

  const executed: Node[] = [];
  const referenced = new Set<Node>();
  if (seed.gradFn instanceof Node) referenced.add(seed.gradFn);
  try {
    const rootKey: Key = root.gradFn instanceof Node ? root.gradFn : root;
    put(rootKey, seed);
    const order = rootKey instanceof Node ? postOrder(rootKey) : [];

    // with `inputs`, only nodes with a path to one of them run
    const targets = opts.inputs ? new Set<Key>(opts.inputs.map((t) => (t.gradFn instanceof Node ? t.gradFn : t))) : null;
    const reaches = new Map<Node, boolean>();
    const edgeNeeded = (e: Edge): boolean => {
      if (e === null) return false;
      if (targets === null) return true;
      return e instanceof Node ? reaches.get(e) === true : targets.has(e);
    };
    if (targets) for (const n of order) reaches.set(n, targets.has(n) || n.next.some(edgeNeeded));

    for (let k = order.length - 1; k >= 0; k--) {
      const node = order[k];
      const g = slots.get(node);
      if (g === undefined) continue;
      const needs = node.next.map(edgeNeeded);
      if (!needs.includes(true)) continue;
      if (node.released) {
        throw new FreedGraphError(
          'backward',
          `the graph through '${node.name}' was freed by an earlier backward(), which releases saved tensors; ` +
            'pass { retainGraph: true } to the earlier backward() to go through the graph again',
        );
      }
      const results = scope(() => node.apply(g, node.saved.map((s) => unpack(s, node, opts.createGraph)), needs));
      executed.push(node);
      if (opts.createGraph) {
        // the recorded gradient computation reaches back into these nodes through saved tensors
        for (const s of node.saved) {
          const fn = s?.isOutput ? node : s?.gradFn;
          if (fn) referenced.add(fn);
        }
      }
      for (let i = 0; i < node.next.length; i++) {
        const r = results[i];
        if (!needs[i] || !r) continue;
        const m = node.inputs[i]!;
        if (!shapesEqual(r.shape, m.shape) || r.dtype !== m.dtype) {
          throw new DLError('backward', `gradient rule of '${node.name}' returned ${r.dtype} ${fmt(r.shape)} for input ${i} of ${m.dtype} ${fmt(m.shape)}`);
        }
        put(node.next[i]!, r);
      }
      if (!targets?.has(node)) {
        slots.delete(node);
        drop(g);
      }
      for (const r of results) if (r && r !== g && !uses.has(r) && r !== opts.userSeed) r.dispose();
    }

    const out: (Tensor | null)[] = [];
    if (opts.inputs) {
      for (const t of opts.inputs) {
        const key = t.gradFn instanceof Node ? t.gradFn : t;
        const gr = slots.get(key);
        if (gr === undefined) {
          out.push(null);
          continue;
        }
        // returned like any op result: owned by the caller's scope, if any
        const mine = own(gr);
        if (mine === gr) uses.delete(gr);
        handedOut.add(mine);
        out.push(mine);
      }
    } else {
      for (const [key, gr] of slots) {
        if (key instanceof Node) continue;
        accumulate(key, gr);
      }
    }
    return out;

    function accumulate(leaf: Tensor, gr: Tensor): void {
      const prev = leaf.grad && !leaf.grad.isDisposed ? leaf.grad : null;
      if (prev === null) {
        const mine = keep(own(gr));
        if (mine === gr) uses.delete(gr);
        handedOut.add(mine);
        leaf.grad = mine;
      } else if (opts.createGraph || prev.requiresGrad) {
        leaf.grad = keep(prev.add(gr));
        handedOut.add(leaf.grad);
      } else {
        prev.add_(gr); // grad mode is off here: a plain in-place update
      }
    }
  } finally {
    gradMode.enabled = prevMode;
    for (const t of slots.values()) {
      if (uses.has(t) && t !== opts.userSeed && !handedOut.has(t)) t.dispose();
    }
    if (opts.retain !== 'all') {
      const keepAlive = opts.retain === 'referenced' ? reachableFrom(referenced) : null;
      for (const node of executed) if (!keepAlive?.has(node)) release(node);
      for (const node of opts.alsoRelease ?? []) if (!keepAlive?.has(node)) release(node);
    }
  }
}

export interface BackwardOptions {
  /** gradient of the loss (its shape); required when the loss has more than one element */
  grad?: Tensor;
  /**
   * keep every saved tensor so backward can run through this graph again. Default false; with
   * createGraph, the saved tensors the recorded gradients still need are kept either way.
   */
  retainGraph?: boolean;
  /** record the backward pass itself, so gradients can be differentiated again */
  createGraph?: boolean;
}

/**
 * Accumulates d(loss)/d(leaf) into the `.grad` of every leaf that requires grad and that `loss`
 * was computed from, then releases the graph's saved tensors (unless `retainGraph`).
 *
 *   const w = new Parameter(randn([3]));
 *   backward(w.mul(w).sum());   // w.grad = 2w
 */
export function backward(loss: Tensor, opts: BackwardOptions = {}): void {
  for (const [t, what] of [[loss, 'loss'], [opts.grad, 'grad']] as const) {
    if (t?.isDisposed) throw new DisposedError('backward', `${what} (shape ${fmt(t.shape)}) was used after dispose()`);
  }
  if (!loss.requiresGrad) {
    throw new RequiresGradError(
      'backward',
      `the tensor ${fmt(loss.shape)} does not require grad: nothing it was computed from requires grad, or it was computed inside noGrad(); ` +
        'mark the leaves with new Parameter(t) or t.requiresGrad_()',
    );
  }
  let seed = opts.grad;
  if (seed === undefined) {
    if (loss.size !== 1) {
      throw new NonScalarBackwardError(
        'backward',
        `the tensor has shape ${fmt(loss.shape)}; backward() without { grad } needs a one-element tensor (reduce it, e.g. loss.sum() or loss.mean(), or pass { grad } of shape ${fmt(loss.shape)})`,
      );
    }
    seed = onesLike(loss);
  } else if (!shapesEqual(seed.shape, loss.shape)) {
    throw new ShapeError('backward', `grad has shape ${fmt(seed.shape)} but the tensor has shape ${fmt(loss.shape)}`);
  }
  const createGraph = opts.createGraph ?? false;
  runBackward(loss, seed, {
    retain: opts.retainGraph ? 'all' : createGraph ? 'referenced' : 'none',
    createGraph,
    userSeed: opts.grad,
  });
}

// `loss.backward()` on any tensor goes here once @dl/autograd is loaded
/** Lets `loss.backward()` reach this engine; called here and by Parameter/customGrad, so bundlers that drop side-effect-only imports keep it. */
export function installBackwardHook(): void {
  hooks.backward ??= (t, grad) => backward(t, { grad });
}
installBackwardHook();
