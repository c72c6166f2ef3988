// The plan of the chunked WGSL scan (tiling, passes, grids, scratch sizes), checked without a GPU;
// its values and gradients on WebGPU are checked in @dl/gpu's tests (mamba-chunked-scan.test.ts).
import { ShapeError } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import type { ScanDims } from './scan-layout.js';
import { SCRATCH_BUDGET, backwardProgram, backwardSlice, forwardProgram, scanTiling } from './selective-scan-wgsl.js';

const attrs = { deltaSoftplus: true, returnLastState: true };
const dims = (over: Partial<ScanDims> = {}): ScanDims => ({ batch: 12, D: 256, L: 1024, N: 16, varB: true, varC: true, hasZ: true, ...over });

describe('the chunked WGSL selective scan: its plan', () => {
  it('splits the sequence into 64 chunks per block of up to 4 steps each, and the states into groups of up to 8', () => {
    expect(scanTiling(1, 4)).toEqual({ chunk: 1, block: 64, blocks: 1, group: 4 });
    expect(scanTiling(64, 16)).toEqual({ chunk: 1, block: 64, blocks: 1, group: 8 });
    expect(scanTiling(65, 16)).toEqual({ chunk: 2, block: 128, blocks: 1, group: 8 });
    expect(scanTiling(256, 5)).toEqual({ chunk: 4, block: 256, blocks: 1, group: 5 });
    expect(scanTiling(600, 16)).toEqual({ chunk: 4, block: 256, blocks: 3, group: 8 });
    expect(scanTiling(4096, 256)).toEqual({ chunk: 4, block: 256, blocks: 16, group: 8 });
  });

  it('runs the forward as one pass of one workgroup per (b, d), the grid split past 65535 workgroups', () => {
    const one = forwardProgram(dims(), attrs);
    expect(one.passes.map((p) => p.workgroups)).toEqual([[3072, 1]]);
    expect(one.passes[0].code).toContain('@workgroup_size(64)');
    expect(forwardProgram(dims({ batch: 7, D: 10000 }), attrs).passes[0].workgroups).toEqual([35000, 2]);
  });

  it('runs the backward in slices of channels whose dB / dC terms fit the scratch budget', () => {
    const d = dims();
    const Ds = backwardSlice(d);
    expect(Ds).toBe(Math.floor(SCRATCH_BUDGET / (12 * 16 * 1024 * 2 * 4))); // 42
    const program = backwardProgram(d, attrs);
    const slices = Math.ceil(256 / Ds);
    expect(program.passes.length).toBe(2 * slices + 1);
    expect(program.passes.filter((p) => p.entryPoint === 'channel').every((p) => p.workgroups[0] === 12 * Ds)).toBe(true);
    const [bnd, part, terms] = program.scratch!;
    expect(terms).toBe(12 * Ds * 16 * 1024 * 2 * 4);
    expect(terms).toBeLessThanOrEqual(SCRATCH_BUDGET);
    expect(bnd).toBe(3072 * 4 * 16 * 4); // the state at the start of each of the 4 blocks
    expect(part).toBe(3072 * (3 * 16 + 2) * 4); // per (b, d): dA, fixed dB, fixed dC (N each), dD, ddeltaBias
    // d0 of each slice, in order (the uniform struct's members are the params in order)
    const fields = /struct Params \{([^}]*)\}/.exec(program.passes[0].code)![1].split(',').map((f) => f.split(':')[0].trim());
    const d0 = fields.indexOf('d0');
    expect(program.passes.filter((p) => p.entryPoint === 'channel').map((p) => p.params![d0][1])).toEqual(Array.from({ length: slices }, (_, i) => i * Ds));
  });

  it('keeps fixed B and C in the per-(b, d) sums: one channel pass, no slice sums', () => {
    const program = backwardProgram(dims({ varB: false, varC: false }), attrs);
    expect(program.passes.map((p) => p.entryPoint)).toEqual(['channel', 'batchSum']);
    expect(program.scratch![2]).toBe(4);
  });

  it('refuses a d_state outside 1..256 with a ShapeError naming A', () => {
    expect(() => forwardProgram(dims({ N: 257 }), attrs)).toThrow(ShapeError);
    expect(() => forwardProgram(dims({ N: 257 }), attrs)).toThrow(/mamba\.selectiveScan: d_state N = 257 \(A \[256,257\]\) is outside what the WGSL scan takes: 1 to 256/);
    expect(() => backwardProgram(dims({ N: 0 }), attrs)).toThrow(/mamba\.selectiveScanBackward: d_state N = 0 \(A \[256,0\]\)/);
  });
});
