import type { TypedArray } from '../dtype.js';

/**
 * Strided elementwise loops: out[view] = f(in0[view], in1[view], ...). One loop is compiled per
 * scalar function (with `new Function`), so the call to `f` in the hot loop stays monomorphic and
 * V8 inlines it; a shared loop would see every op's function and run ~10x slower. Where code
 * generation is forbidden (a strict Content-Security-Policy), a shared generic loop is used.
 * Functions on hot paths avoid data-dependent branches (`+(a > b)`, bit selects): random signs
 * make a branch mispredict half the time, which costs more than the arithmetic.
 */
export type ScalarFn = (...xs: number[]) => number;

export interface View {
  data: TypedArray;
  strides: readonly number[];
  offset: number;
}

type Loop = (shape: readonly number[], out: View, ins: View[]) => void;

/** Merges adjacent dims that every view walks contiguously, so most loops become 1-D. */
export function collapse(shape: readonly number[], views: { strides: readonly number[] }[]): { shape: number[]; strides: number[][] } {
  const s: number[] = [];
  const st: number[][] = views.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && views.every((v, k) => st[k][last] === v.strides[d] * shape[d])) {
      s[last] *= shape[d];
      views.forEach((v, k) => (st[k][last] = v.strides[d]));
    } else {
      s.push(shape[d]);
      views.forEach((v, k) => st[k].push(v.strides[d]));
    }
  }
  return { shape: s, strides: st };
}

/**
 * The inner loop where the output is contiguous and each input is contiguous (bit k of `mask` 0)
 * or constant (bit k 1: a broadcast dim) along the inner dim: constants are read once, and for
 * cheap functions the body is unrolled by four, which V8 runs about twice as fast as the general
 * strided loop. Costly functions (erf, gelu) are not unrolled: four inlined copies exceed V8's
 * inlining budget and the calls stop being inlined, which halves their speed.
 */
function unitLoop(arity: number, mask: number, unroll: boolean): string {
  const ks = [...Array(arity).keys()];
  const konst = (k: number): boolean => ((mask >> k) & 1) === 1;
  const at = ks.filter((k) => !konst(k)).map((k) => `const q${k} = p${k} + i;`).join(' ');
  const call = (d: number): string => `r[o + ${d}] = f(${ks.map((k) => (konst(k) ? `v${k}` : `a${k}[q${k} + ${d}]`)).join(', ')});`;
  return `{
      ${ks.filter(konst).map((k) => `const v${k} = a${k}[p${k}];`).join(' ')}
      let i = 0;
      ${unroll ? `for (; i + 4 <= inner; i += 4) { const o = pr + i; ${at} ${call(0)} ${call(1)} ${call(2)} ${call(3)} }` : ''}
      for (; i < inner; i++) { const o = pr + i; ${at} ${call(0)} }
    }`;
}

function source(arity: number, unroll: boolean): string {
  const ks = [...Array(arity).keys()];
  const args = ks.map((k) => `a${k}[q${k}]`).join(', ');
  const cases = [...Array(2 ** arity).keys()].map((m) => `case ${m}: ${unitLoop(arity, m, unroll)} break;`).join('\n');
  return `
    const shape = c.shape, rank = shape.length;
    let n = 1; for (let d = 0; d < rank; d++) n *= shape[d];
    if (n === 0) return;
    const r = out.data; ${ks.map((k) => `const a${k} = ins[${k}].data;`).join(' ')}
    if (rank === 0) { r[out.offset] = f(${ks.map((k) => `a${k}[ins[${k}].offset]`).join(', ')}); return; }
    const last = rank - 1, inner = shape[last];
    const sr = c.strides[0]; ${ks.map((k) => `const s${k} = c.strides[${k + 1}];`).join(' ')}
    const ir = sr[last]; ${ks.map((k) => `const i${k} = s${k}[last];`).join(' ')}
    const unit = ir === 1${ks.map((k) => ` && (i${k} === 0 || i${k} === 1)`).join('')};
    const mode = 0${ks.map((k) => ` | (i${k} === 0 ? ${1 << k} : 0)`).join('')};
    const idx = new Int32Array(rank);
    let pr = out.offset; ${ks.map((k) => `let p${k} = ins[${k}].offset;`).join(' ')}
    for (let o = 0; o < n; o += inner) {
      if (unit) {
        switch (mode) {
          ${cases}
        }
      } else {
        for (let i = 0, qr = pr${ks.map((k) => `, q${k} = p${k}`).join('')}; i < inner; i++, qr += ir${ks.map((k) => `, q${k} += i${k}`).join('')}) r[qr] = f(${args});
      }
      for (let d = last - 1; d >= 0; d--) {
        idx[d]++; pr += sr[d]; ${ks.map((k) => `p${k} += s${k}[d];`).join(' ')}
        if (idx[d] < shape[d]) break;
        pr -= sr[d] * shape[d]; ${ks.map((k) => `p${k} -= s${k}[d] * shape[d];`).join(' ')}
        idx[d] = 0;
      }
    }`;
}

let codegen = true;
let compiled = 0;
const cache = new Map<ScalarFn, Map<string, Loop>>();

/** One letter per storage kind: a loop compiled per kind signature keeps its element loads monomorphic. */
function kind(a: TypedArray): string {
  const c = a.constructor;
  return c === Float32Array ? 'f' : c === Float64Array ? 'd' : c === Int32Array ? 'i' : c === Uint8Array ? 'b' : c === Uint16Array ? 'h' : 'x';
}

function compile(f: ScalarFn, arity: number, sig: string, unroll: boolean): Loop {
  if (codegen) {
    try {
      // V8 caches `new Function` by source text, and closures from one cached source share type
      // feedback and optimized code: a source unique to this function and storage kinds keeps the
      // call to f monomorphic (inlined) and the element loads of one kind each
      const body = `return function loop(shape0, out, ins) { /* ${++compiled} ${sig} */ const c = collapse(shape0, [out, ...ins]); ${source(arity, unroll)} };`;
      return new Function('f', 'collapse', body)(f, collapse) as Loop;
    } catch {
      codegen = false; // a Content-Security-Policy forbids eval here
    }
  }
  return (shape, out, ins) => slowLoop(f, shape, out, ins);
}

function slowLoop(f: ScalarFn, shape: readonly number[], out: View, ins: View[]): void {
  let n = 1;
  for (const d of shape) n *= d;
  const idx = new Array<number>(shape.length).fill(0);
  const vals = new Array<number>(ins.length);
  for (let e = 0; e < n; e++) {
    let po = out.offset;
    for (let d = 0; d < shape.length; d++) po += idx[d] * out.strides[d];
    for (let k = 0; k < ins.length; k++) {
      let p = ins[k].offset;
      for (let d = 0; d < shape.length; d++) p += idx[d] * ins[k].strides[d];
      vals[k] = ins[k].data[p];
    }
    out.data[po] = f(...vals);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/**
 * Runs out[view] = f(ins[view]...) over `shape`; every view may have any strides. `costly` marks
 * a large f (erf, gelu), whose loop is not unrolled; a given f must always pass the same value.
 */
export function map(f: ScalarFn, shape: readonly number[], out: View, ins: View[], costly = false): void {
  let byKind = cache.get(f);
  if (!byKind) cache.set(f, (byKind = new Map()));
  let sig = kind(out.data);
  for (let k = 0; k < ins.length; k++) sig += kind(ins[k].data);
  let loop = byKind.get(sig);
  if (!loop) byKind.set(sig, (loop = compile(f, ins.length, sig, !costly)));
  loop(shape, out, ins);
}
