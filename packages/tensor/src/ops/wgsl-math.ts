/**
 * WGSL functions shared by @dl/tensor's own custom-op kernels and @dl/gpu's generated kernels
 * (exported from `@dl/tensor/internal`), so both compute them the same way.
 */

/** erf in f32: a Taylor series near 0, Abramowitz & Stegun 7.1.26 elsewhere (absolute error < 1.5e-7). */
export const WGSL_ERF = `fn erf_(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) {
    let x2 = x * x;
    return x * 1.1283791670955126 * (1.0 + x2 * (-0.3333333333 + x2 * (0.1 + x2 * (-0.0238095238 + x2 * 0.0046296296))));
  }
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return select(y, -y, x < 0.0);
}`;
