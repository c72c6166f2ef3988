/**
 * The fused attention kernel: softmax(q k^T * scale + mask) v in one pass per query row, with
 * CPU and WGSL kernels and a gradient rule, defined through @dl/tensor's `defineOp` as any package
 * would. `scaledDotProductAttention` (attention.ts) picks it when no dropout is asked for; the
 * composed path there is the reference it is tested against.
 *
 * Inputs are 4-D views taken as they are (strided, so the head split's transposes, a KV cache's
 * narrowed prefix and a mask expanded over batch and heads are never copied):
 * q (B, H, L, E), k (B, H, S, E), v (B, H, S, Ev), and optionally an additive float mask
 * (B, H, L, S) (usually an expanded view of something smaller). Output (B, H, L, Ev), contiguous.
 */
import { DTypeError, ShapeError, arange, defineOp, fmt, matmul, sizeOf, softmax, type HostInput, type KernelInput, type Tensor } from '@dl/tensor';

export interface FusedAttentionAttrs {
  /** multiplies q . k */
  scale: number;
  /** null: no causal mask; d: query i sees keys j <= i + d (0 is PyTorch's top-left is_causal; a KV cache of P keys uses P) */
  causal: number | null;
}

const OP = 'transformer.attention';

function check(inputs: readonly Tensor[]): void {
  if (inputs.length !== 3 && inputs.length !== 4) throw new ShapeError(OP, `expected q, k, v and an optional mask, got ${inputs.length} tensors`);
  const [q, k, v, m] = inputs;
  const all = (): string => inputs.map((t, i) => `${['q', 'k', 'v', 'mask'][i]}=${fmt(t.shape)}`).join(' ');
  if (![q, k, v].every((t) => t.ndim === 4)) throw new ShapeError(OP, `q, k and v must be 4-D (B, H, T, E); got ${all()}`);
  const [B, H, L, E] = q.shape;
  const S = k.shape[2];
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== E) throw new ShapeError(OP, `k must be [${B},${H},S,${E}]; got ${all()}`);
  if (v.shape[0] !== B || v.shape[1] !== H || v.shape[2] !== S) throw new ShapeError(OP, `v must be [${B},${H},${S},Ev]; got ${all()}`);
  if (m && (m.ndim !== 4 || m.shape[0] !== B || m.shape[1] !== H || m.shape[2] !== L || m.shape[3] !== S)) {
    throw new ShapeError(OP, `mask must be [${B},${H},${L},${S}] (expand it first); got ${all()}`);
  }
  for (const t of inputs) {
    if (t.dtype !== q.dtype || (t.dtype !== 'float32' && t.dtype !== 'float64')) {
      throw new DTypeError(OP, `q, k, v and mask must be float32 or float64 of one dtype; got ${inputs.map((x) => x.dtype).join(', ')} (${all()})`);
    }
  }
}

/** The CPU kernel: scores of one row into a scratch array, its max, then the weighted sum of v. */
function cpuKernel(inputs: readonly HostInput[], { scale, causal }: FusedAttentionAttrs, outDType: string): Float32Array | Float64Array {
  const [q, k, v, m] = inputs;
  const [B, H, L, E] = q.shape;
  const S = k.shape[2];
  const Ev = v.shape[3];
  const y = outDType === 'float64' ? new Float64Array(B * H * L * Ev) : new Float32Array(B * H * L * Ev);
  const s = new Float64Array(S);
  const acc = new Float64Array(Ev);
  const qrow = new Float64Array(E);
  const [q0, q1, q2, q3] = q.strides;
  const [k0, k1, k2, k3] = k.strides;
  const [v0, v1, v2, v3] = v.strides;
  const [m0, m1, m2, m3] = m ? m.strides : [0, 0, 0, 0];
  const qd = q.data;
  const kd = k.data;
  const vd = v.data;
  const md = m?.data;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const qb = q.offset + b * q0 + h * q1;
      const kb = k.offset + b * k0 + h * k1;
      const vb = v.offset + b * v0 + h * v1;
      const mb = m ? m.offset + b * m0 + h * m1 : 0;
      for (let i = 0; i < L; i++) {
        const qi = qb + i * q2;
        for (let e = 0; e < E; e++) qrow[e] = qd[qi + e * q3];
        const jEnd = causal === null ? S : Math.max(0, Math.min(S, i + causal + 1));
        let mx = -Infinity;
        for (let j = 0; j < jEnd; j++) {
          const kj = kb + j * k2;
          let d = 0;
          if (k3 === 1) for (let e = 0; e < E; e++) d += qrow[e] * kd[kj + e];
          else for (let e = 0; e < E; e++) d += qrow[e] * kd[kj + e * k3];
          let x = d * scale;
          if (md) x += md[mb + i * m2 + j * m3];
          s[j] = x;
          if (x > mx) mx = x;
        }
        // a row with no key left (all masked) stays zero, as PyTorch's scaled_dot_product_attention
        if (mx === -Infinity) continue;
        acc.fill(0);
        let sum = 0;
        for (let j = 0; j < jEnd; j++) {
          const p = Math.exp(s[j] - mx);
          if (p === 0) continue;
          sum += p;
          const vj = vb + j * v2;
          if (v3 === 1) for (let e = 0; e < Ev; e++) acc[e] += p * vd[vj + e];
          else for (let e = 0; e < Ev; e++) acc[e] += p * vd[vj + e * v3];
        }
        const o = ((b * H + h) * L + i) * Ev;
        for (let e = 0; e < Ev; e++) y[o + e] = acc[e] / sum;
      }
    }
  }
  return y;
}

/**
 * The WGSL kernel: one thread per query row, an online softmax over the keys (running max and
 * sum, the accumulator rescaled when the max grows). E and Ev are compiled in (private arrays need
 * constant sizes), so there is one pipeline per head size. -Infinity in the mask is recognised by
 * its bits: WGSL lets compilers assume floats are finite.
 */
function wgslSource(E: number, Ev: number, hasMask: boolean): string {
  const n = hasMask ? 4 : 3;
  return `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
${hasMask ? '@group(0) @binding(3) var<storage, read> m: array<f32>;' : ''}
@group(0) @binding(${n}) var<storage, read_write> y: array<f32>;
struct Params {
  B: u32, H: u32, L: u32, S: u32,
  q0: u32, q1: u32, q2: u32, q3: u32, qo: u32,
  k0: u32, k1: u32, k2: u32, k3: u32, ko: u32,
  v0: u32, v1: u32, v2: u32, v3: u32, vo: u32,
  m0: u32, m1: u32, m2: u32, m3: u32, mo: u32,
  causal: u32, coff: i32, scale: f32, rowsX: u32,
}
@group(0) @binding(${n + 1}) var<uniform> p: Params;
const E = ${E}u;
const EV = ${Ev}u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.y * p.rowsX + gid.x;
  if (row >= p.B * p.H * p.L) { return; }
  let i = row % p.L;
  let bh = row / p.L;
  let h = bh % p.H;
  let b = bh / p.H;
  let qi = p.qo + b * p.q0 + h * p.q1 + i * p.q2;
  let kb = p.ko + b * p.k0 + h * p.k1;
  let vb = p.vo + b * p.v0 + h * p.v1;
  var qv: array<f32, E>;
  for (var e = 0u; e < E; e++) { qv[e] = q[qi + e * p.q3]; }
  var jEnd = p.S;
  if (p.causal == 1u) { jEnd = u32(clamp(i32(i) + p.coff + 1, 0, i32(p.S))); }
  var acc: array<f32, EV>;
  var mx = 0.0;
  var l = 0.0;
  var found = false;
  for (var j = 0u; j < jEnd; j++) {
    let kj = kb + j * p.k2;
    var d = 0.0;
    for (var e = 0u; e < E; e++) { d += qv[e] * k[kj + e * p.k3]; }
    var s = d * p.scale;
${
  hasMask
    ? `    let mv = m[p.mo + b * p.m0 + h * p.m1 + i * p.m2 + j * p.m3];
    if (bitcast<u32>(mv) == 0xff800000u) { continue; }
    s += mv;`
    : ''
}
    if (!found) { mx = s; found = true; }
    if (s > mx) {
      let c = exp(mx - s);
      l *= c;
      for (var e = 0u; e < EV; e++) { acc[e] *= c; }
      mx = s;
    }
    let w = exp(s - mx);
    l += w;
    let vj = vb + j * p.v2;
    for (var e = 0u; e < EV; e++) { acc[e] += w * v[vj + e * p.v3]; }
  }
  let o = row * EV;
  for (var e = 0u; e < EV; e++) { y[o + e] = select(0.0, acc[e] / l, found); }
}
`;
}

/**
 * [L, S] bool, true where key j comes after what query i may see (j > i + offset).
 *
 *   futureMask(3, 3, 0, 'cpu'); // the strict upper triangle
 */
export function futureMask(L: number, S: number, offset: number, device: string): Tensor {
  const rows = arange(0, L, 1, { dtype: 'int32', device }).reshape([L, 1]);
  const cols = arange(0, S, 1, { dtype: 'int32', device }).reshape([1, S]);
  return cols.gt(rows.add(offset));
}

/**
 * The attention probabilities softmax(q k^T * scale + mask) (B, H, L, S), composed from
 * differentiable ops; the gradient rule recomputes them instead of saving (B, H, L, S).
 */
export function attentionProbs(q: Tensor, k: Tensor, mask: Tensor | null, { scale, causal }: FusedAttentionAttrs): Tensor {
  let s = matmul(q.mul(scale), k.transpose(-2, -1)); // (B, H, L, S)
  if (mask) s = s.add(mask);
  if (causal !== null) {
    s = s.maskedFill(futureMask(s.shape[s.ndim - 2], s.shape[s.ndim - 1], causal, s.device), -Infinity);
  }
  return softmax(s, -1); // rows with every key masked are 0
}

/**
 * softmax(q k^T * scale + mask) v over 4-D views (see the file comment); `scaledDotProductAttention`
 * is the function to call.
 *
 *   fusedAttention([q, k, v], { scale: 1 / Math.sqrt(64), causal: 0 }); // (B, H, L, Ev)
 */
export const fusedAttention = defineOp<FusedAttentionAttrs>({
  name: OP,
  strided: { cpu: true, wgsl: true },
  inferOutput: (inputs) => {
    check(inputs);
    const [q, , v] = inputs;
    return { shape: [...q.shape.slice(0, 3), v.shape[3]], dtype: q.dtype };
  },
  cpu: (inputs, attrs, out) => cpuKernel(inputs, attrs, out.dtype),
  wgsl: (inputs: readonly KernelInput[], { scale, causal }, out) => {
    const [q, k, v, m] = inputs;
    const [B, H, L, E] = q.shape;
    const rows = B * H * L;
    const groups = Math.max(1, Math.ceil(rows / 64));
    const wx = Math.min(groups, 65535);
    const wy = Math.ceil(groups / wx);
    const u = (x: number) => ['u32', x] as const;
    const strides = (t: KernelInput | undefined) => (t ? [...t.strides.map(u), u(t.offset)] : [u(0), u(0), u(0), u(0), u(0)]);
    return {
      passes: [
        {
          code: wgslSource(E, v.shape[3], m !== undefined),
          workgroups: [wx, wy],
          params: [
            u(B), u(H), u(L), u(k.shape[2]),
            ...strides(q), ...strides(k), ...strides(v), ...strides(m),
            u(causal === null ? 0 : 1), ['i32', causal ?? 0], ['f32', scale], u(wx * 64),
          ],
        },
      ],
    };
  },
  save: (inputs) => [...inputs],
  // P = softmax(S), S = q k^T * scale + mask: dv = P^T g, dS = P * (g v^T - rowsum(g v^T * P)),
  // dq = dS k * scale, dk = dS^T q * scale, dmask = dS
  backward: (g, { saved, attrs, needs }) => {
    const [q, k, v, m] = saved;
    const p = attentionProbs(q, k, m ?? null, attrs); // (B, H, L, S)
    const dp = matmul(g, v.transpose(-2, -1)); // (B, H, L, S)
    const ds = p.mul(dp.sub(dp.mul(p).sum(-1, true)));
    return [
      needs[0] ? matmul(ds, k).mul(attrs.scale) : null,
      needs[1] ? matmul(ds.transpose(-2, -1), q).mul(attrs.scale) : null,
      needs[2] ? matmul(p.transpose(-2, -1), g) : null,
      ...(m ? [needs[3] ? ds : null] : []),
    ];
  },
});

/** Elements of q, k and v the kernel reads: nothing to run for an empty one. */
export function isEmptyAttention(q: Tensor, k: Tensor, v: Tensor): boolean {
  return sizeOf(q.shape) === 0 || sizeOf(k.shape) === 0 || sizeOf(v.shape) === 0;
}
