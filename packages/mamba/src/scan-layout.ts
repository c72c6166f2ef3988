/** The sizes, attributes and scalar math the selective scan's kernels share (CPU, WebAssembly and WGSL). */

/** What the two ops know besides their tensors. */
export interface ScanAttrs {
  deltaSoftplus: boolean;
  returnLastState: boolean;
}

/** The length of one (b, d) row of the forward op's output: y, then the last state when asked for. */
export function rowLength({ L, N }: { L: number; N: number }, { returnLastState }: Pick<ScanAttrs, 'returnLastState'>): number {
  return L + (returnLastState ? N : 0);
}

/** Sizes read off the inputs: batch, channels D, length L, state N, and the layout of B and C. */
export interface ScanDims {
  batch: number;
  D: number;
  L: number;
  N: number;
  /** B (and C) hold a value per (batch, n, t): input-dependent; else one per (d, n) */
  varB: boolean;
  varC: boolean;
  hasZ: boolean;
}

/** Element counts of the packed gradient: du, ddelta, dA, dB, dC, dD, ddeltaBias, dz. */
export function gradSizes({ batch, D, L, N, varB, varC, hasZ }: ScanDims): number[] {
  const bdl = batch * D * L;
  return [bdl, bdl, D * N, varB ? batch * N * L : D * N, varC ? batch * N * L : D * N, D, D, hasZ ? bdl : 0];
}


/** Where each packed gradient starts (the running sums of gradSizes). */
export function gradOffsets(dims: ScanDims): number[] {
  const off: number[] = [];
  gradSizes(dims).reduce((acc, s, i) => ((off[i] = acc), acc + s), 0);
  return off;
}

export const softplus = (x: number): number => (x > 20 ? x : Math.log1p(Math.exp(x)));
export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
