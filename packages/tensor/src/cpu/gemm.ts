// Pure-TypeScript single-thread GEMM for the CPU backend (f32 and f64).
//
// Goto/BLIS structure: B is packed in KC x NC blocks, A in MC x KC blocks, both into one
// Float64Array scratch, and a 4x4 register-blocked microkernel walks the packed panels.
// Packing absorbs any strides (transposed, broadcast, negative), converts f32 to f64 once, and
// zero-pads edges so the microkernel never branches. Even tiny or skinny products take this path:
// measured, it beats plain dot-product loops at every size (1.2 vs 0.4 GFLOP/s at 4x4x4).
//
// Why everything sits inside one closure with the scratch as a fixed-size `const`: V8 specialises a
// function created only once to its context, so the optimized microkernel embeds the scratch's data
// pointer and length as constants; each load is then a compare plus a move instead of re-checking the
// array's map and reloading its fields on every iteration (~1.3x faster). A module-level `const`
// would not do: bundlers (esbuild, so tsup) rewrite top-level `const` to `var`, which V8 must reload.
// The microkernel only ever touches these two Float64Arrays, so it stays monomorphic for both dtypes.

export type FloatArray = Float32Array | Float64Array;

/**
 * C (M x N, row-major, contiguous, starting at cOff) = A (M x K) @ B (K x N), plus C if `accumulate`.
 * A and B are addressed by element strides, so transposed or strided views need no copy:
 * A[i,k] = a[aOff + i*aRs + k*aCs], B[k,j] = b[bOff + k*bRs + j*bCs]. Strides may be 0 or negative.
 * Sums run in float64 for both dtypes; a float32 C is rounded once per 256-deep block of K.
 *
 * @example
 * // c (2x2) = a (2x3) @ b^T where b is stored 2x3 row-major
 * gemm(2, 2, 3, a, 0, 3, 1, b, 0, 1, 3, c, 0);
 */
export const gemm: (
  M: number,
  N: number,
  K: number,
  a: FloatArray,
  aOff: number,
  aRs: number,
  aCs: number,
  b: FloatArray,
  bOff: number,
  bRs: number,
  bCs: number,
  c: FloatArray,
  cOff: number,
  accumulate?: boolean,
) => void = /* @__PURE__ */ (() => {
  const MR = 4; // microkernel rows
  const NR = 4; // microkernel columns
  const KC = 256; // depth of a packed block: an A or B micro-panel is 8 KiB
  const MC = 64; // rows of A per packed block (128 KiB)
  const NC = 448; // columns of B per packed block (896 KiB, held in L2)
  const B0 = MC * KC; // where the packed B block starts in PACK
  const PACK = new Float64Array(MC * KC + KC * NC); // 1 MiB, shared by every call (single-threaded)
  const TILE = new Float64Array(MR * NR); // microkernel result, row-major 4x4

  function gemm(
    M: number,
    N: number,
    K: number,
    a: FloatArray,
    aOff: number,
    aRs: number,
    aCs: number,
    b: FloatArray,
    bOff: number,
    bRs: number,
    bCs: number,
    c: FloatArray,
    cOff: number,
    accumulate = false,
  ): void {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
      if (!accumulate) c.fill(0, cOff, cOff + M * N);
      return;
    }
    for (let jc = 0; jc < N; jc += NC) {
      const nc = Math.min(NC, N - jc);
      for (let pc = 0; pc < K; pc += KC) {
        const kc = Math.min(KC, K - pc);
        const overwrite = pc === 0 && !accumulate;
        packB(b, bOff + pc * bRs + jc * bCs, bRs, bCs, kc, nc);
        for (let ic = 0; ic < M; ic += MC) {
          const mc = Math.min(MC, M - ic);
          packA(a, aOff + ic * aRs + pc * aCs, aRs, aCs, mc, kc);
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = Math.min(NR, nc - jr);
            const pb = B0 + jr * kc;
            let co = cOff + ic * N + jc + jr;
            for (let ir = 0; ir < mc; ir += MR) {
              kernel4x4(kc, ir * kc, pb);
              storeTile(c, co, N, Math.min(MR, mc - ir), nr, overwrite);
              co += MR * N;
            }
          }
        }
      }
    }
  }

  /** Packs A[0:mc, 0:kc] (starting at element `o`) as MR-row micro-panels, k-major, rows zero-padded. */
  function packA(a: FloatArray, o: number, rs: number, cs: number, mc: number, kc: number): void {
    let q = 0;
    for (let ir = 0; ir < mc; ir += MR) {
      const rows = mc - ir;
      let p0 = o + ir * rs;
      if (rows >= MR) {
        let p1 = p0 + rs;
        let p2 = p1 + rs;
        let p3 = p2 + rs;
        for (let k = 0; k < kc; k++) {
          PACK[q] = a[p0];
          PACK[q + 1] = a[p1];
          PACK[q + 2] = a[p2];
          PACK[q + 3] = a[p3];
          q += MR;
          p0 += cs;
          p1 += cs;
          p2 += cs;
          p3 += cs;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let i = 0; i < MR; i++) PACK[q + i] = i < rows ? a[p0 + i * rs] : 0;
          q += MR;
          p0 += cs;
        }
      }
    }
  }

  /** Packs B[0:kc, 0:nc] (starting at element `o`) as NR-column micro-panels, k-major, columns zero-padded. */
  function packB(b: FloatArray, o: number, rs: number, cs: number, kc: number, nc: number): void {
    let q = B0;
    for (let jr = 0; jr < nc; jr += NR) {
      const cols = nc - jr;
      let p0 = o + jr * cs;
      if (cols >= NR) {
        const c1 = cs;
        const c2 = 2 * cs;
        const c3 = 3 * cs;
        for (let k = 0; k < kc; k++) {
          PACK[q] = b[p0];
          PACK[q + 1] = b[p0 + c1];
          PACK[q + 2] = b[p0 + c2];
          PACK[q + 3] = b[p0 + c3];
          q += NR;
          p0 += rs;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let j = 0; j < NR; j++) PACK[q + j] = j < cols ? b[p0 + j * cs] : 0;
          q += NR;
          p0 += rs;
        }
      }
    }
  }

  /**
   * TILE = A micro-panel (at PACK[pa], kc x 4) ^T @ B micro-panel (at PACK[pb], kc x 4).
   * Sixteen accumulators in locals; the loads of one k step feed 16 multiply-adds.
   */
  function kernel4x4(kc: number, pa: number, pb: number): void {
    let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
    let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
    let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
    let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
    for (let k = 0; k < kc; k++) {
      // `| 0` keeps the index arithmetic in int32 with no overflow checks.
      const a0 = PACK[pa], a1 = PACK[(pa + 1) | 0], a2 = PACK[(pa + 2) | 0], a3 = PACK[(pa + 3) | 0];
      const b0 = PACK[pb], b1 = PACK[(pb + 1) | 0], b2 = PACK[(pb + 2) | 0], b3 = PACK[(pb + 3) | 0];
      c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
      c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
      c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
      c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      pa = (pa + MR) | 0;
      pb = (pb + NR) | 0;
    }
    TILE[0] = c00; TILE[1] = c01; TILE[2] = c02; TILE[3] = c03;
    TILE[4] = c10; TILE[5] = c11; TILE[6] = c12; TILE[7] = c13;
    TILE[8] = c20; TILE[9] = c21; TILE[10] = c22; TILE[11] = c23;
    TILE[12] = c30; TILE[13] = c31; TILE[14] = c32; TILE[15] = c33;
  }

  /** Writes (or adds) the valid mr x nr corner of TILE into C at `o` with row stride `ldc`. */
  function storeTile(c: FloatArray, o: number, ldc: number, mr: number, nr: number, overwrite: boolean): void {
    if (mr === MR && nr === NR) {
      for (let i = 0; i < MR; i++, o += ldc) {
        const t = i * NR;
        if (overwrite) {
          c[o] = TILE[t];
          c[o + 1] = TILE[t + 1];
          c[o + 2] = TILE[t + 2];
          c[o + 3] = TILE[t + 3];
        } else {
          c[o] += TILE[t];
          c[o + 1] += TILE[t + 1];
          c[o + 2] += TILE[t + 2];
          c[o + 3] += TILE[t + 3];
        }
      }
      return;
    }
    for (let i = 0; i < mr; i++, o += ldc) {
      for (let j = 0; j < nr; j++) c[o + j] = overwrite ? TILE[i * NR + j] : c[o + j] + TILE[i * NR + j];
    }
  }

  return gemm;
})();
