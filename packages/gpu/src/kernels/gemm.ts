import type { GpuContext, BindRange } from '../runtime/context.js';
import { ShaderBuilder, grid } from '../wgsl/builder.js';

/** Work split of the tiled GEMM: a BMxBN output tile per workgroup, TMxTN outputs per thread, BK-deep k steps. */
export interface Tile {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
}

/** Larger tiles amortise loads on big problems; small problems need more workgroups. */
export function pickTile(M: number, N: number, maxWorkgroupStorage: number): Tile {
  if (M >= 256 && N >= 256 && 2 * 128 * 16 * 4 <= maxWorkgroupStorage) return { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 };
  if (M >= 64 && N >= 64) return { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 };
  return { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4 };
}

/**
 * What makes a GEMM-shaped kernel (matmul, convolutions as implicit GEMM) out of the template:
 * WGSL functions `loadA(m, k) -> f32`, `loadB(k, n) -> f32`, `storeC(m, n, v: f32)` (called only
 * in bounds) and a prologue run once per workgroup (e.g. batch base offsets from the batch index `z`).
 */
export interface GemmHooks {
  key: string;
  declare(b: ShaderBuilder): { prologue: string };
}

/**
 * C[z] (M x N) = A[z] (M x K) @ B[z] (K x N) for z < batch, accumulated in f32. Each workgroup
 * stages BMxBK of A and BKxBN of B in workgroup memory per k step; each thread keeps a TMxTN block
 * of accumulators in registers (rows ty + i*TY, columns tx + j*TX, so stores coalesce).
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
  const TX = t.BN / t.TN;
  const TY = t.BM / t.TM;
  const threads = TX * TY;
  const key = `gemm:${hooks.key}:${t.BM}x${t.BN}x${t.BK}:${t.TM}x${t.TN}`;
  const prog = ctx.program(key, () => {
    const b = new ShaderBuilder(threads);
    const { prologue } = hooks.declare(b);
    const m = b.param('M');
    const n = b.param('N');
    const k = b.param('K');
    b.workgroupArray('As', 'f32', t.BK * t.BM);
    b.workgroupArray('Bs', 'f32', t.BK * t.BN);
    const lines: string[] = [];
    lines.push(`  let tilesN = (${n} + ${t.BN - 1}) / ${t.BN};`);
    lines.push(`  let m0 = (wg / tilesN) * ${t.BM};`);
    lines.push(`  let n0 = (wg % tilesN) * ${t.BN};`);
    lines.push(`  if (m0 >= ${m}) { return; }`);
    lines.push(`  let z = wz + ${b.param('zbase')};`);
    lines.push(prologue);
    lines.push(`  let tx = lid % ${TX};`, `  let ty = lid / ${TX};`);
    lines.push(`  var acc: array<f32, ${t.TM * t.TN}>;`);
    lines.push(`  for (var k0 = 0; k0 < ${k}; k0 += ${t.BK}) {`);
    lines.push(`    for (var l = lid; l < ${t.BM * t.BK}; l += ${threads}) {`);
    lines.push(`      let mm = l / ${t.BK}; let kk = l % ${t.BK};`);
    lines.push(`      var v = 0.0;`);
    lines.push(`      if (m0 + mm < ${m} && k0 + kk < ${k}) { v = loadA(m0 + mm, k0 + kk); }`);
    lines.push(`      As[kk * ${t.BM} + mm] = v;`);
    lines.push('    }');
    lines.push(`    for (var l = lid; l < ${t.BK * t.BN}; l += ${threads}) {`);
    lines.push(`      let kk = l / ${t.BN}; let nn = l % ${t.BN};`);
    lines.push(`      var v = 0.0;`);
    lines.push(`      if (k0 + kk < ${k} && n0 + nn < ${n}) { v = loadB(k0 + kk, n0 + nn); }`);
    lines.push(`      Bs[kk * ${t.BN} + nn] = v;`);
    lines.push('    }');
    lines.push('    workgroupBarrier();');
    lines.push(`    for (var kk = 0; kk < ${t.BK}; kk++) {`);
    for (let i = 0; i < t.TM; i++) lines.push(`      let a${i} = As[kk * ${t.BM} + ty + ${i * TY}];`);
    for (let j = 0; j < t.TN; j++) lines.push(`      let b${j} = Bs[kk * ${t.BN} + tx + ${j * TX}];`);
    for (let i = 0; i < t.TM; i++) {
      for (let j = 0; j < t.TN; j++) lines.push(`      acc[${i * t.TN + j}] = fma(a${i}, b${j}, acc[${i * t.TN + j}]);`);
    }
    lines.push('    }');
    lines.push('    workgroupBarrier();');
    lines.push('  }');
    for (let i = 0; i < t.TM; i++) {
      lines.push(`  { let gm = m0 + ty + ${i * TY};`);
      lines.push(`    if (gm < ${m}) {`);
      for (let j = 0; j < t.TN; j++) {
        lines.push(`      { let gn = n0 + tx + ${j * TX}; if (gn < ${n}) { storeC(gm, gn, acc[${i * t.TN + j}]); } }`);
      }
      lines.push('    }', '  }');
    }
    return b.build(lines.join('\n'));
  });
  const tiles = Math.ceil(M / t.BM) * Math.ceil(N / t.BN);
  // z (the batch) is limited to 65535 workgroups per dispatch
  for (let z = 0; z < batch; z += 65535) {
    ctx.dispatch(op, prog, bindings, { ...params, M, N, K, zbase: z }, grid(tiles, Math.min(65535, batch - z)));
  }
}
