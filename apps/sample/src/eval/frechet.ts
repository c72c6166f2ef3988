/**
 * The Frechet distance between two Gaussians fitted to feature sets, as FID computes it
 * (Heusel et al. 2017, https://arxiv.org/abs/1706.08500):
 *
 *   d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))
 *
 * all in float64. tr((S1 S2)^(1/2)) is the sum of the square roots of the eigenvalues of
 * S1 S2, which are those of the symmetric positive semi-definite R S2 R with R = S1^(1/2)
 * (R R S2 and R S2 R share their eigenvalues): two symmetric eigendecompositions (Jacobi), no
 * general matrix square root, no complex parts to drop. Matrices are row-major Float64Arrays.
 */

/** The mean and the unbiased covariance (n - 1, as numpy's np.cov) of feature rows. */
export interface Gaussian {
  /** feature dimension d */
  dim: number;
  /** number of rows the statistics came from */
  count: number;
  /** (d) */
  mean: Float64Array;
  /** (d, d), row-major */
  cov: Float64Array;
}

/**
 * Mean and covariance of n rows of d features (row-major), in float64.
 *
 *   const g = gaussianOf(features, 2004, 128); // g.mean (128), g.cov (128 * 128)
 */
export function gaussianOf(rows: ArrayLike<number>, n: number, d: number): Gaussian {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 2 || d < 1 || rows.length !== n * d) {
    throw new RangeError(`gaussianOf: needs n >= 2 rows of d >= 1 features (n * d values), got n=${n}, d=${d} and ${rows.length} values`);
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) c[j] = rows[i * d + j] - mean[j];
    // upper triangle only; mirrored below
    for (let j = 0; j < d; j++) {
      const cj = c[j];
      if (cj === 0) continue;
      const row = j * d;
      for (let k = j; k < d; k++) cov[row + k] += cj * c[k];
    }
  }
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const v = cov[j * d + k] / (n - 1);
      cov[j * d + k] = v;
      cov[k * d + j] = v;
    }
  }
  return { dim: d, count: n, mean, cov };
}

/** Eigenvalues (ascending) and eigenvectors (the columns of `vectors`, row-major n x n) of a symmetric matrix. */
export interface Eigen {
  values: Float64Array;
  vectors: Float64Array;
}

/**
 * Eigendecomposition of a symmetric n x n matrix by cyclic Jacobi rotations, in float64:
 * A = V diag(values) V^T with V orthogonal. Accurate to a few ulps of the largest eigenvalue; a
 * 128 x 128 covariance takes about 10 sweeps.
 *
 *   const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2); // values [1, 3]
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): Eigen {
  if (!Number.isInteger(n) || n < 1 || matrix.length !== n * n) throw new RangeError(`symmetricEigen: expected an n x n matrix (${n} x ${n} = ${n * n} values), got ${matrix.length} values`);
  const a = Float64Array.from(matrix);
  let norm2 = 0;
  for (let i = 0; i < n * n; i++) {
    if (!Number.isFinite(a[i])) throw new RangeError(`symmetricEigen: the matrix holds ${a[i]} at (${Math.floor(i / n)}, ${i % n})`);
    norm2 += a[i] * a[i];
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const x = a[i * n + j];
      const y = a[j * n + i];
      if (Math.abs(x - y) > 1e-9 * Math.sqrt(norm2)) throw new RangeError(`symmetricEigen: the matrix is not symmetric: (${i}, ${j}) is ${x} but (${j}, ${i}) is ${y}`);
      a[i * n + j] = a[j * n + i] = 0.5 * (x + y);
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;

  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    // the diagonal then holds the eigenvalues to within |off| of the largest
    if (off <= (Number.EPSILON * Number.EPSILON * norm2) / 4 || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // after a few sweeps, an element below the rounding of both diagonal entries is zero
        if (sweep > 3 && Math.abs(app) + 100 * Math.abs(apq) === Math.abs(app) && Math.abs(aqq) + 100 * Math.abs(apq) === Math.abs(aqq)) {
          a[p * n + q] = a[q * n + p] = 0;
          continue;
        }
        // the rotation angle phi with cot(2 phi) = theta zeroes (p, q); t = tan(phi), the smaller root
        const theta = (aqq - app) / (2 * apq);
        const t = Math.abs(theta) > 1e150 ? 1 / (2 * theta) : Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A <- J^T A J with J the identity but J[p][p] = J[q][q] = c, J[p][q] = s, J[q][p] = -s
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }

  // ascending order, columns of V permuted alike
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i * n + i] - a[j * n + j]);
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) vectors[r * n + c] = v[r * n + order[c]];
  return { values, vectors };
}

/**
 * The symmetric square root of a symmetric positive semi-definite matrix: V diag(sqrt(max(l, 0))) V^T
 * (eigenvalues that rounding made slightly negative count as 0).
 *
 *   sqrtPsd(Float64Array.of(4, 0, 0, 9), 2); // [2, 0, 0, 3]
 */
export function sqrtPsd(matrix: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const r = Math.sqrt(Math.max(values[k], 0));
    if (r === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * r;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return out;
}

/** a (n x n) @ b (n x n), row-major float64. */
function matmulSquare(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

/**
 * tr((S1 S2)^(1/2)) for symmetric positive semi-definite S1, S2: the sum of the square roots of
 * the eigenvalues of R S2 R, R = S1^(1/2).
 *
 *   traceSqrtProduct(Float64Array.of(4, 0, 0, 1), Float64Array.of(1, 0, 0, 9), 2); // 2 + 3 = 5
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, n: number): number {
  const r = sqrtPsd(s1, n);
  const m = matmulSquare(matmulSquare(r, s2, n), r, n);
  // symmetric in exact arithmetic; symmetricEigen averages the two triangles
  const { values } = symmetricEigen(m, n);
  let tr = 0;
  for (const l of values) tr += Math.sqrt(Math.max(l, 0));
  return tr;
}

/**
 * The Frechet distance (squared, as FID reports it) between N(mu1, S1) and N(mu2, S2).
 *
 *   const fid = frechetDistance(gaussianOf(fakeFeatures, n, 128), gaussianOf(realFeatures, 2004, 128));
 */
export function frechetDistance(g1: Gaussian, g2: Gaussian): number {
  if (g1.dim !== g2.dim) throw new RangeError(`frechetDistance: the two feature sets differ in dimension (${g1.dim} and ${g2.dim})`);
  const d = g1.dim;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (g1.mean[j] - g2.mean[j]) ** 2;
  let trace = 0;
  for (let j = 0; j < d; j++) trace += g1.cov[j * d + j] + g2.cov[j * d + j];
  // >= 0 in exact arithmetic; identical sets can round to -1e-13
  return Math.max(0, meanTerm + trace - 2 * traceSqrtProduct(g1.cov, g2.cov, d));
}
