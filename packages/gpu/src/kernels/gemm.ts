import type { BindRange, GpuContext, GpuData } from '../runtime/context.js';
import type { Epilogue } from './fuse.js';
import { ShaderBuilder, fromDomain, grid, type StorageType } from '../wgsl/builder.js';
import { WG } from './common.js';

/** Work split of the tiled GEMM: a BMxBN output tile per workgroup, TMxTN outputs per thread, BK-deep k steps. */
export interface Tile {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  /** a multiple of 4: each thread's columns are TN/4 vec4s */
  TN: number;
}

/** Larger tiles amortise loads on big problems; small problems need more workgroups. */
export function pickTile(M: number, N: number, maxWorkgroupStorage: number): Tile {
  const shared = (t: Tile): number => (t.BM + t.BN) * t.BK * 4;
  const big: Tile = { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 };
  if (M >= 512 && N >= 512 && shared(big) <= maxWorkgroupStorage) return big;
  if (M >= 64 && N >= 64) return { BM: 64, BN: 64, BK: 8, TM: 4, TN: 4 };
  return { BM: 32, BN: 32, BK: 8, TM: 4, TN: 4 };
}

/**
 * What makes a GEMM-shaped kernel (matmul, convolutions as implicit GEMM) out of the template:
 * WGSL functions `loadA(m, k) -> f32`, `loadB(k, n) -> f32` and `storeC(m, n, v: f32)`, called
 * only in bounds, and a prologue run once per workgroup (e.g. batch base offsets from the batch
 * index `z`). A hook may also define the vector forms `loadA4(m, k)` (A[m, k..k+3]),
 * `loadB4(k, n)` (B[k, n..n+3]) and `storeC4(m, n, v)` itself (e.g. with vec4 bindings), saying
 * so in `vec4`; the template derives the others from the scalar functions.
 */
export interface GemmHooks {
  key: string;
  /**
   * When set, C is a new contiguous [batch, M, N] tensor of this storage type: the template owns
   * binding 0 (`out`) and the stores (vec4 when it can), and may split K over workgroups.
   */
  plainC?: StorageType;
  /**
   * C is this new contiguous float32 tensor, and the kernel stores each of its elements once,
   * following each store with `after(index, value)`'s statements: the elementwise kernels after
   * it may then run in its stores (kernels/fuse.ts). With plainC the template's stores do this
   * (not when it splits K).
   */
  fusable?: GpuData;
  declare(b: ShaderBuilder, after: (index: string, value: string) => string): { prologue: string; vec4?: Vec4Hooks };
}

/**
 * Which vector functions a hook defines: `A`/`B`/`C` for loadA4/loadB4/storeC4; `AT` for
 * `loadAT4(m, k)` = A[m..m+3, k] and `BT` for `loadBT4(k, n)` = B[k..k+3, n], used instead of
 * loadA4/loadB4 for operands stored transposed (contiguous along m / k).
 */
export interface Vec4Hooks {
  A?: boolean;
  B?: boolean;
  C?: boolean;
  AT?: boolean;
  BT?: boolean;
}

function scalarVec4(b: ShaderBuilder, own: Vec4Hooks, M: string, N: string, K: string): void {
  const lanes = ['x', 'y', 'z', 'w'];
  if (!own.A && !own.AT) {
    b.fn(`fn loadA4(m: i32, k: i32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (m >= ${M}) { return v; }
${lanes.map((l, c) => `  if (k + ${c} < ${K}) { v.${l} = loadA(m, k + ${c}); }`).join('\n')}
  return v;
}`);
  }
  if (!own.B && !own.BT) {
    b.fn(`fn loadB4(k: i32, n: i32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (k >= ${K}) { return v; }
${lanes.map((l, c) => `  if (n + ${c} < ${N}) { v.${l} = loadB(k, n + ${c}); }`).join('\n')}
  return v;
}`);
  }
  if (!own.C) {
    b.fn(`fn storeC4(m: i32, n: i32, v: vec4<f32>) {
  if (m >= ${M}) { return; }
${lanes.map((l, c) => `  if (n + ${c} < ${N}) { storeC(m, n + ${c}, v.${l}); }`).join('\n')}
}`);
  }
}

/**
 * C[z] (M x N) = A[z] (M x K) @ B[z] (K x N) for z < batch, accumulated in f32.
 * Each workgroup stages BMxBK of A (rows of k-vec4s) and BKxBN of B (rows of n-vec4s) in
 * workgroup memory per k step, fetching the next step's into registers during the multiply-adds. A thread owns TM rows (ty*TM + i) and TN/4 column vec4s
 * (tx + j*TX, interleaved so neighbouring threads read neighbouring vec4s) of accumulators, and per
 * 4 k's reads TM A-vec4s and 4*TN/4 B-vec4s for TM*TN*4 multiply-adds.
 */
export function runGemm(
  ctx: GpuContext,
  op: string,
  hooks: GemmHooks,
  dims: { M: number; N: number; K: number; batch: number },
  bindings: BindRange[],
  params: Record<string, number>,
): void {
  const { M, N, K, batch } = dims;
  if (M === 0 || N === 0 || batch === 0) return;
  const t = pickTile(M, N, ctx.device.limits.maxComputeWorkgroupStorageSize);
  const tiles = Math.ceil(M / t.BM) * Math.ceil(N / t.BN);
  // few output tiles over a long K (a weight gradient: small M x N, K = batch * pixels) would
  // leave most of the GPU idle: split K over workgroups into partial sums, then add them up
  const splits = hooks.plainC && K >= 2048 && tiles * batch < 128 ? Math.min(32, Math.ceil(K / 1024), Math.ceil(256 / (tiles * batch))) : 1;
  const kChunk = Math.ceil(K / splits / t.BK) * t.BK;
  const vecOut = hooks.plainC === 'f32' && N % 4 === 0 && splits === 1;
  const TX = t.BN / t.TN;
  const TY = t.BM / t.TM;
  const threads = TX * TY;
  const BK4 = t.BK / 4;
  const BN4 = t.BN / 4;
  const TN4 = t.TN / 4;
  const split = splits > 1;
  const key = `gemm:${hooks.key}:${t.BM}x${t.BN}x${t.BK}:${t.TM}x${t.TN}:${split ? 'split' : vecOut ? 'v' : 's'}`;
  const program = (epi: Epilogue | null) => ctx.program(epi ? `${key}|${epi.key}` : key, () => {
    const b = new ShaderBuilder(threads);
    const after = (index: string, value: string): string => (epi ? ` epi(${index}, ${value});` : '');
    const m = b.param('M');
    const n = b.param('N');
    const k = b.param('K');
    if (hooks.plainC) {
      // partial sums are f32 in slices [split][batch][M][N]; otherwise C itself
      const ot: StorageType = split ? 'f32' : hooks.plainC;
      b.storage('out', vecOut ? 'vec4<f32>' : ot, 'read_write');
      b.fn('var<private> cBase: i32;');
      b.fn(
        vecOut
          ? `fn storeC4(m: i32, n: i32, v: vec4<f32>) {\n  if (m < ${m} && n < ${n}) {\n    let g = cBase + m * ${n} + n;\n    out[g >> 2u] = v;${[0, 1, 2, 3].map((c) => after(`g + ${c}`, `v[${c}]`)).join('')}\n  }\n}`
          : `fn storeC(m: i32, n: i32, v: f32) { out[cBase + m * ${n} + n] = ${fromDomain('v', 'f32', ot)};${after(`cBase + m * ${n} + n`, 'v')} }`,
      );
    }
    const { prologue, vec4 = {} } = hooks.declare(b, after);
    scalarVec4(b, { ...vec4, C: vec4.C || vecOut }, m, n, k);
    b.workgroupArray('As', 'vec4<f32>', t.BM * BK4);
    b.workgroupArray('Bs', 'vec4<f32>', t.BK * BN4);
    const L: string[] = [];
    L.push(`  let tilesN = (${n} + ${t.BN - 1}) / ${t.BN};`);
    L.push(`  let m0 = (wg / tilesN) * ${t.BM};`);
    L.push(`  let n0 = (wg % tilesN) * ${t.BN};`);
    L.push(`  if (m0 >= ${m}) { return; }`);
    if (split) {
      L.push(`  let zs = wz + ${b.param('zbase')};`, `  let z = zs % ${b.param('batch')};`, `  let ks = zs / ${b.param('batch')};`);
      L.push(`  let kBeg = ks * ${b.param('kChunk')};`, `  let kEnd = min(${k}, kBeg + ${b.param('kChunk')});`);
    } else {
      L.push(`  let z = wz + ${b.param('zbase')};`, '  let kBeg = 0;', `  let kEnd = ${k};`);
    }
    if (hooks.plainC) L.push(`  cBase = ${split ? `(ks * ${b.param('batch')} + z)` : 'z'} * ${m} * ${n};`);
    L.push(prologue);
    L.push(`  let tx = lid % ${TX};`, `  let ty = lid / ${TX};`);
    for (let i = 0; i < t.TM; i++) for (let j = 0; j < TN4; j++) L.push(`  var c${i}_${j} = vec4<f32>(0.0);`);
    // the next k step's tiles are fetched into registers while this one is computed. Operands are
    // read as vec4s along k (A) / n (B), or along m / k for transposed layouts (AT / BT), whose
    // components are scattered into the tiles
    const loaders = [
      vec4.AT
        ? { tile: 'As', reg: 'pa', count: t.BK * (t.BM / 4), load: (l: string, k0: string) => `loadAT4(m0 + (${l} % ${t.BM / 4}) * 4, ${k0} + ${l} / ${t.BM / 4})`,
            store: (l: string, v: string) => [0, 1, 2, 3].map((c) => `As[((${l} % ${t.BM / 4}) * 4 + ${c}) * ${BK4} + (${l} / ${t.BM / 4}) / 4][(${l} / ${t.BM / 4}) % 4] = ${v}.${'xyzw'[c]};`).join(' ') }
        : { tile: 'As', reg: 'pa', count: t.BM * BK4, load: (l: string, k0: string) => `loadA4(m0 + ${l} / ${BK4}, ${k0} + (${l} % ${BK4}) * 4)`, store: (l: string, v: string) => `As[${l}] = ${v};` },
      vec4.BT
        ? { tile: 'Bs', reg: 'pb', count: t.BN * BK4, load: (l: string, k0: string) => `loadBT4(${k0} + (${l} % ${BK4}) * 4, n0 + ${l} / ${BK4})`,
            store: (l: string, v: string) => [0, 1, 2, 3].map((c) => `Bs[((${l} % ${BK4}) * 4 + ${c}) * ${BN4} + (${l} / ${BK4}) / 4][(${l} / ${BK4}) % 4] = ${v}.${'xyzw'[c]};`).join(' ') }
        : { tile: 'Bs', reg: 'pb', count: t.BK * BN4, load: (l: string, k0: string) => `loadB4(${k0} + ${l} / ${BN4}, n0 + (${l} % ${BN4}) * 4)`, store: (l: string, v: string) => `Bs[${l}] = ${v};` },
    ];
    const each = (f: (ld: (typeof loaders)[number], r: number, l: string, guard: (x: string) => string) => string): string[] =>
      loaders.flatMap((ld) =>
        Array.from({ length: Math.ceil(ld.count / threads) }, (_, r) => {
          const l = `(lid + ${r * threads})`;
          return f(ld, r, l, (x) => (ld.count % threads === 0 ? x : `if (${l} < ${ld.count}) { ${x} }`));
        }),
      );
    L.push(...each((ld, r) => `  var ${ld.reg}${r} = vec4<f32>(0.0);`));
    const fetch = (k0: string, indent: string): string[] => each((ld, r, l, guard) => indent + guard(`${ld.reg}${r} = ${ld.load(l, k0)};`));
    L.push(...fetch('kBeg', '  '));
    L.push(`  for (var k0 = kBeg; k0 < kEnd; k0 += ${t.BK}) {`);
    L.push(...each((ld, r, l, guard) => '    ' + guard(ld.store(l, `${ld.reg}${r}`))));
    L.push('    workgroupBarrier();');
    L.push(`    if (k0 + ${t.BK} < kEnd) {`);
    L.push(...fetch(`k0 + ${t.BK}`, '      '));
    L.push('    }');
    L.push(`    for (var kk = 0; kk < ${BK4}; kk++) {`);
    for (let i = 0; i < t.TM; i++) L.push(`      let a${i} = As[(ty * ${t.TM} + ${i}) * ${BK4} + kk];`);
    const comp = ['x', 'y', 'z', 'w'];
    for (let c = 0; c < 4; c++) {
      for (let j = 0; j < TN4; j++) L.push(`      let b${c}_${j} = Bs[(kk * 4 + ${c}) * ${BN4} + tx + ${j * TX}];`);
      for (let i = 0; i < t.TM; i++) {
        for (let j = 0; j < TN4; j++) L.push(`      c${i}_${j} = fma(vec4<f32>(a${i}.${comp[c]}), b${c}_${j}, c${i}_${j});`);
      }
    }
    L.push('    }');
    L.push('    workgroupBarrier();');
    L.push('  }');
    for (let i = 0; i < t.TM; i++) {
      for (let j = 0; j < TN4; j++) L.push(`  storeC4(m0 + ty * ${t.TM} + ${i}, n0 + (tx + ${j * TX}) * 4, c${i}_${j});`);
    }
    epi?.declare(b);
    return b.build(L.join('\n'));
  });
  const binds = [...bindings];
  const uniforms = { ...params, M, N, K, batch, kChunk };
  // (a binding over the limit is left to fail now, in the op that made it)
  const fits = bindings.every((x) => (x.size ?? x.buffer.size - (x.offset ?? 0)) <= ctx.maxBinding);
  if (ctx.fusion && hooks.fusable && fits && !split && batch <= 65535) {
    // recorded later, with the elementwise kernels that follow in its stores
    const p = { ...uniforms, zbase: 0 };
    ctx.fusion.startHead({
      op,
      out: hooks.fusable,
      reads: bindings.slice(1).map((x) => x.buffer),
      bindings: bindings.length,
      record: (epi) => ctx.dispatch(op, program(epi), epi ? [...binds, ...epi.bindings] : binds, epi ? { ...p, ...epi.params } : p, grid(tiles, batch)),
    });
    return;
  }
  const prog = program(null);
  let part: GPUBuffer | null = null;
  if (split) {
    part = ctx.alloc(splits * batch * M * N * 4);
    binds[0] = { buffer: part };
  }
  // z (batch x splits) is limited to 65535 workgroups per dispatch
  const zs = batch * splits;
  for (let z = 0; z < zs; z += 65535) {
    ctx.dispatch(op, prog, binds, { ...uniforms, zbase: z }, grid(tiles, Math.min(65535, zs - z)));
  }
  if (part) {
    sumSplits(ctx, op, part, bindings[0], splits, batch * M * N, hooks.plainC!);
    ctx.release(part);
  }
}

/** out[i] = sum over s of part[s * n + i]: the second half of a split-K GEMM. */
function sumSplits(ctx: GpuContext, op: string, part: GPUBuffer, out: BindRange, splits: number, n: number, ot: StorageType): void {
  const prog = ctx.program(`gemm:splitsum:${ot}`, () => {
    const b = new ShaderBuilder(WG);
    b.storage('out', ot, 'read_write');
    b.storage('part', 'f32');
    return b.build(`
  let i = wg * ${WG} + lid;
  if (i >= ${b.param('n')}) { return; }
  var acc = 0.0;
  for (var s = 0; s < ${b.param('splits')}; s++) { acc += part[s * ${b.param('n')} + i]; }
  out[i] = ${fromDomain('acc', 'f32', ot)};`);
  });
  ctx.dispatch(op, prog, [out, { buffer: part }], { n, splits }, grid(Math.ceil(n / WG)));
}
