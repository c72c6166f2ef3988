import { DLError, DTypeError, Tensor, isFloat, scope, sizeOf, tensor } from '@dl/tensor';
import { runBackward } from './engine.js';
import { withGradMode } from './tape.js';

export interface GradcheckOptions {
  /** finite-difference step (default 1e-6) */
  eps?: number;
  /** absolute tolerance (default 1e-5) */
  atol?: number;
  /** relative tolerance, against the numerical value (default 1e-3) */
  rtol?: number;
}

/** The Jacobian entry that is furthest outside the tolerance (or closest to it when all pass). */
export interface GradcheckWorst {
  /** which argument of f */
  input: number;
  /** element of that input */
  index: number[];
  /** element of f's output */
  output: number[];
  analytic: number;
  numerical: number;
  /** |analytic - numerical| */
  error: number;
  /** atol + rtol |numerical| */
  tolerance: number;
}

export interface GradcheckReport {
  ok: boolean;
  /** one line naming the worst element */
  message: string;
  worst: GradcheckWorst | null;
  /** Jacobian entries compared */
  checked: number;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/**
 * Compares autograd's Jacobian of `f` with central finite differences, in float64 on the CPU:
 * every float input is copied to a float64 CPU tensor (integer inputs such as indices pass
 * through), so `f` must keep float64 (no casts to float32 inside). Returns a report rather than
 * throwing; `report.message` names the worst element.
 *
 *   const r = gradcheck((x) => x.tanh().sum(1), [randn([3, 4])]);
 *   if (!r.ok) throw new Error(r.message);
 */
export function gradcheck(f: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: GradcheckOptions = {}): GradcheckReport {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  return scope(() => {
    const diff = inputs.map((t) => isFloat(t.dtype));
    const bases = inputs.map((t, i) => (diff[i] ? Float64Array.from(t.to('cpu').dataSync()) : null));
    const make = (i: number, values?: Float64Array): Tensor =>
      diff[i] ? tensor(values ?? bases[i]!, { shape: [...inputs[i].shape], dtype: 'float64', device: 'cpu' }) : inputs[i].to('cpu');
    const evaluate = (args: Tensor[]): Tensor => {
      const y = f(...args);
      if (!(y instanceof Tensor)) throw new DLError('gradcheck', `f must return a Tensor, got ${typeof y}`);
      if (y.dtype !== 'float64') throw new DTypeError('gradcheck', `f returned ${y.dtype}; with float64 inputs it must return float64 (no casts inside f)`);
      return y;
    };

    // analytic Jacobian, one backward pass per output element: rows[i][k * n_i + j] = dy_k / dx_ij
    const leaves = inputs.map((_, i) => make(i));
    const diffLeaves = leaves.filter((_, i) => diff[i]);
    for (const l of diffLeaves) l.requiresGrad_();
    const y = withGradMode(true, () => evaluate(leaves));
    const m = y.size;
    const outShape = [...y.shape];
    const rows = inputs.map((t, i) => (diff[i] ? new Float64Array(m * t.size) : null));
    if (y.requiresGrad) {
      for (let k = 0; k < m; k++) {
        const oneHot = new Float64Array(m);
        oneHot[k] = 1;
        const seed = tensor(oneHot, { shape: outShape, dtype: 'float64', device: 'cpu' });
        const grads = runBackward(y, seed, { createGraph: false, retain: k < m - 1 ? 'all' : 'none', inputs: diffLeaves, userSeed: seed });
        let g = 0;
        inputs.forEach((t, i) => {
          if (!diff[i]) return;
          const gi = grads[g++];
          if (gi) rows[i]!.set(gi.dataSync(), k * t.size);
          gi?.dispose();
        });
        seed.dispose();
      }
    }

    // numerical Jacobian by central differences, compared entry by entry
    let worst: GradcheckWorst | null = null;
    let worstRatio = -1;
    let checked = 0;
    withGradMode(false, () => {
      inputs.forEach((t, i) => {
        if (!diff[i]) return;
        const args = inputs.map((_, a) => (a === i ? null : leaves[a]));
        const probe = (j: number, delta: number): Float64Array => {
          const v = bases[i]!.slice();
          v[j] += delta;
          const x = make(i, v);
          const out = evaluate(args.map((a) => a ?? x));
          const data = Float64Array.from(out.dataSync());
          out.dispose();
          x.dispose();
          return data;
        };
        for (let j = 0; j < t.size; j++) {
          const plus = probe(j, eps);
          const minus = probe(j, -eps);
          for (let k = 0; k < m; k++) {
            const numerical = (plus[k] - minus[k]) / (2 * eps);
            const analytic = rows[i]![k * t.size + j];
            const error = Math.abs(analytic - numerical);
            const tolerance = atol + rtol * Math.abs(numerical);
            const ratio = Number.isNaN(error) ? Infinity : error / tolerance;
            checked++;
            if (ratio > worstRatio) {
              worstRatio = ratio;
              worst = { input: i, index: unravel(j, t.shape), output: unravel(k, outShape), analytic, numerical, error, tolerance };
            }
          }
        }
      });
    });
    const ok = worstRatio <= 1;
    const w = worst as GradcheckWorst | null;
    const message = w
      ? `gradcheck ${ok ? 'passed' : 'failed'}: worst d out[${w.output.join(',')}] / d input${w.input}[${w.index.join(',')}]: ` +
        `analytic ${w.analytic}, numerical ${w.numerical}, |diff| ${w.error.toExponential(2)} ${ok ? '<=' : '>'} tolerance ${w.tolerance.toExponential(2)} (${checked} entries)`
      : `gradcheck passed: nothing to compare (${sizeOf(outShape)} outputs)`;
    return { ok, message, worst: w, checked };
  });
}
