// Reductions across the four lanes of an f32x4, for kernels that sum or compare along a row.
import type { FuncBuilder } from './emitter.js';

/** pushes the float64 sum of the lanes of the f32x4 in local v (each lane promoted, then added in pairs) */
export function hsumF64(f: FuncBuilder, v: number): void {
  f.get(v).f32x4ExtractLane(0).f64PromoteF32().get(v).f32x4ExtractLane(1).f64PromoteF32().f64Add();
  f.get(v).f32x4ExtractLane(2).f64PromoteF32().get(v).f32x4ExtractLane(3).f64PromoteF32().f64Add();
  f.f64Add();
}

/** sets local v to the max of its lanes in every lane (f32x4.max: a NaN lane makes it NaN) */
export function hmaxF32(f: FuncBuilder, v: number): void {
  f.get(v).get(v).get(v).f32x4Shuffle([2, 3, 0, 1]).f32x4Max().set(v);
  f.get(v).get(v).get(v).f32x4Shuffle([1, 0, 3, 2]).f32x4Max().set(v);
}
