import { grad, gradcheck } from '@dl/autograd';
import {
  DTypeError,
  DeviceError,
  ShapeError,
  cat,
  defineOp,
  fmt,
  manualSeed,
  rand,
  randn,
  shapesEqual,
  sizeOf,
  zeros,
  type CustomOp,
  type Tensor,
} from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from './backend.js';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

// A package-style custom op, defined as @dl/mamba would define its selective scan: CPU and WGSL
// kernels and a gradient rule written with differentiable ops (the op itself included).

interface ScanAttrs {
  /** time steps per chunk of the WGSL chunked scan */
  chunk: number;
}

const SCAN_WGSL = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
// [0, B*nC): product of a over each chunk; [B*nC, 2 B*nC): the chunk's last h from h = 0;
// [2 B*nC, 3 B*nC): the h entering each chunk
@group(0) @binding(3) var<storage, read_write> scratch: array<f32>;
struct Params { B: u32, T: u32, chunk: u32, nC: u32 }
@group(0) @binding(4) var<uniform> p: Params;

// one thread per (row, chunk): the chunk's own scan from h = 0
@compute @workgroup_size(64)
fn scanChunks(@builtin(global_invocation_id) id: vec3<u32>) {
  let k = id.x;
  if (k >= p.B * p.nC) { return; }
  let b = k / p.nC;
  let t0 = (k % p.nC) * p.chunk;
  let t1 = min(t0 + p.chunk, p.T);
  var s = 0.0;
  var prod = 1.0;
  for (var t = t0; t < t1; t++) {
    let i = b * p.T + t;
    s = a[i] * s + x[i];
    prod = prod * a[i];
    h[i] = s;
  }
  scratch[k] = prod;
  scratch[p.B * p.nC + k] = s;
}

// one thread per row: the h entering each chunk, chunk after chunk
@compute @workgroup_size(64)
fn carry(@builtin(global_invocation_id) id: vec3<u32>) {
  let b = id.x;
  if (b >= p.B) { return; }
  var s = 0.0;
  for (var c = 0u; c < p.nC; c++) {
    let k = b * p.nC + c;
    scratch[2u * p.B * p.nC + k] = s;
    s = scratch[k] * s + scratch[p.B * p.nC + k];
  }
}

// one thread per (row, chunk): adds the entering h times the running product of a
@compute @workgroup_size(64)
fn fixup(@builtin(global_invocation_id) id: vec3<u32>) {
  let k = id.x;
  if (k >= p.B * p.nC) { return; }
  let b = k / p.nC;
  let t0 = (k % p.nC) * p.chunk;
  let t1 = min(t0 + p.chunk, p.T);
  let hin = scratch[2u * p.B * p.nC + k];
  var prod = 1.0;
  for (var t = t0; t < t1; t++) {
    let i = b * p.T + t;
    prod = prod * a[i];
    h[i] = h[i] + prod * hin;
  }
}
`;

/** h[b, t] = a[b, t] h[b, t-1] + x[b, t] with h[b, -1] = 0: a diagonal linear recurrence over [B, T]. */
const linearScan: CustomOp<ScanAttrs, 2> = defineOp<ScanAttrs, 2>({
  name: 'test.linearScan',
  inputs: 2,
  inferOutput: ([a, x]) => {
    if (a.ndim !== 2 || !shapesEqual(a.shape, x.shape)) throw new ShapeError('test.linearScan', `a ${fmt(a.shape)} and x ${fmt(x.shape)} must be one [B, T] shape`);
    if (a.dtype !== x.dtype || (a.dtype !== 'float32' && a.dtype !== 'float64')) {
      throw new DTypeError('test.linearScan', `a and x must be float32 or float64 of one dtype; got ${a.dtype}, ${x.dtype}`);
    }
    return { shape: x.shape, dtype: x.dtype };
  },
  cpu: ([a, x], _attrs, out) => {
    const [B, T] = out.shape;
    const h = out.dtype === 'float64' ? new Float64Array(B * T) : new Float32Array(B * T);
    for (let b = 0; b < B; b++) {
      let s = 0;
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        s = a.data[i] * s + x.data[i];
        h[i] = s;
      }
    }
    return h;
  },
  wgsl: (_inputs, { chunk }, out) => {
    const [B, T] = out.shape;
    const nC = Math.ceil(T / chunk);
    const params = [['u32', B], ['u32', T], ['u32', chunk], ['u32', nC]] as const;
    return {
      scratch: [3 * B * nC * 4],
      passes: [
        { code: SCAN_WGSL, entryPoint: 'scanChunks', workgroups: [Math.ceil((B * nC) / 64)], params },
        { code: SCAN_WGSL, entryPoint: 'carry', workgroups: [Math.ceil(B / 64)], params },
        { code: SCAN_WGSL, entryPoint: 'fixup', workgroups: [Math.ceil((B * nC) / 64)], params },
      ],
    };
  },
  save: ([a], out) => [a, out],
  // dL/dh[t] = g[t] + a[t+1] dL/dh[t+1]: the same recurrence backwards in time; dL/dx = dL/dh,
  // dL/da[t] = dL/dh[t] h[t-1]
  backward: (g, { saved: [a, h], attrs, needs: [needsA, needsX] }) => {
    const [B, T] = g.shape;
    const z = zeros([B, 1], { dtype: g.dtype, device: g.device });
    const aNext = cat([a.narrow(1, 1, T - 1), z], 1);
    const gh = linearScan([aNext.flip(1), g.flip(1)], attrs).flip(1);
    return [needsA ? gh.mul(cat([z, h.narrow(1, 0, T - 1)], 1)) : null, needsX ? gh : null];
  },
});

/** the recurrence composed from built-in ops, as a reference */
function scanReference(a: Tensor, x: Tensor): Tensor {
  const [, T] = a.shape;
  const hs: Tensor[] = [];
  let s = x.narrow(1, 0, 1);
  hs.push(s);
  for (let t = 1; t < T; t++) {
    s = a.narrow(1, t, 1).mul(s).add(x.narrow(1, t, 1));
    hs.push(s);
  }
  return cat(hs, 1);
}

const f64 = { dtype: 'float64' as const };

describe('a custom op from a package: linear scan (CPU kernel, gradient rule)', () => {
  it('matches the recurrence composed from built-in ops, on a transposed input too', () => {
    manualSeed(3);
    const a = rand([3, 7]);
    const x = randn([7, 3]).transpose(0, 1);
    expectClose(linearScan([a, x], { chunk: 4 }).dataSync(), scanReference(a, x).dataSync(), 1e-5, 1e-6, 'scan');
  });

  it('passes gradcheck, first and second order (the rule calls the op itself)', () => {
    manualSeed(4);
    const a = rand([2, 5], f64).mul(1.5).sub(0.5);
    const x = randn([2, 5], f64);
    const f = (a: Tensor, x: Tensor): Tensor => linearScan([a, x], { chunk: 2 });
    const first = gradcheck(f, [a, x]);
    expect(first.ok, first.message).toBe(true);
    const r = randn([2, 5], f64);
    const df = (...xs: Tensor[]): Tensor => {
      const gs = grad((a: Tensor, x: Tensor) => f(a, x).mul(r).sum(), { argnums: [0, 1] })(xs[0], xs[1]);
      return cat(gs.map((t) => t.reshape([-1])));
    };
    const second = gradcheck(df, [a, x]);
    expect(second.ok, second.message).toBe(true);
  });

  it('names itself and every shape in its errors; a second definition of its name throws', () => {
    expect(() => linearScan([rand([2, 3]), rand([3, 2])], { chunk: 2 })).toThrow(new ShapeError('test.linearScan', 'a [2,3] and x [3,2] must be one [B, T] shape'));
    expect(() => defineOp({ name: 'test.linearScan', differentiable: false, inferOutput: ([x]) => x, cpu: () => new Float32Array(0) })).toThrow(/already defined/);
  });
});

describe.skipIf(!hasWebGPU)('a custom op from a package on webgpu (WGSL program)', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    gpu = await useWebGPU();
  });

  it('gives the CPU kernel\'s values, with one dispatch per pass (chunks that do and do not divide T)', async () => {
    manualSeed(5);
    for (const [B, T, chunk] of [[3, 70, 16], [5, 9, 9], [1, 1, 4], [130, 33, 8]]) {
      const a = rand([B, T]).mul(1.2).sub(0.1);
      const x = randn([B, T]);
      const ag = a.to('webgpu');
      const xg = x.to('webgpu');
      const before = gpu.stats().dispatches;
      const h = linearScan([ag, xg], { chunk });
      expect(gpu.stats().dispatches - before, `dispatches for [${B},${T}] chunk ${chunk}`).toBe(3);
      expectClose(await h.data(), linearScan([a, x], { chunk }).dataSync(), 1e-4, 1e-5, `scan [${B},${T}] chunk ${chunk}`);
    }
  });

  it('copies a strided input first (one more dispatch) and frees the copy and its scratch buffer', async () => {
    manualSeed(6);
    const a = rand([6, 4]).to('webgpu');
    const xt = randn([4, 6]).to('webgpu');
    await gpu.sync();
    const live = gpu.stats().liveBuffers;
    const before = gpu.stats().dispatches;
    const h = linearScan([a, xt.transpose(0, 1)], { chunk: 3 });
    expect(gpu.stats().dispatches - before).toBe(4);
    expect(gpu.stats().liveBuffers - live).toBe(1); // the output only
    const cpu = linearScan([await a.toAsync('cpu'), (await xt.toAsync('cpu')).transpose(0, 1)], { chunk: 3 });
    expectClose(await h.data(), cpu.dataSync(), 1e-4, 1e-5, 'strided scan');
  });

  it('backpropagates on webgpu to the CPU\'s gradients', async () => {
    manualSeed(7);
    const a = rand([4, 12]);
    const x = randn([4, 12]);
    const w = randn([4, 12]);
    const loss = (a: Tensor, x: Tensor, w: Tensor): Tensor => linearScan([a, x], { chunk: 5 }).mul(w).sum();
    const dCpu = grad(loss, { argnums: [0, 1] })(a, x, w);
    const dGpu = grad(loss, { argnums: [0, 1] })(a.to('webgpu'), x.to('webgpu'), w.to('webgpu'));
    for (let i = 0; i < 2; i++) {
      expect(dGpu[i].device).toBe('webgpu');
      expectClose(await dGpu[i].data(), dCpu[i].dataSync(), 1e-4, 1e-5, `grad ${i}`);
    }
  });

  it('throws DeviceError naming the op and the device when it has no WGSL kernel', () => {
    const cpuOnly = defineOp<Record<string, never>, 1>({
      name: 'test.cpuOnlyOnGpu',
      differentiable: false,
      inferOutput: ([t]) => ({ shape: t.shape, dtype: t.dtype }),
      cpu: ([t]) => new Float32Array(sizeOf(t.shape)),
    });
    const t = rand([2]).to('webgpu');
    expect(() => cpuOnly([t])).toThrow(DeviceError);
    expect(() => cpuOnly([t])).toThrow("test.cpuOnlyOnGpu: has no wgsl kernel, which device 'webgpu' needs (the op has: cpu)");
  });

  it('refuses malformed programs by op and pass', () => {
    const bad = (name: string, program: object) =>
      defineOp<Record<string, never>, 1>({ name, differentiable: false, inferOutput: ([t]) => ({ shape: t.shape, dtype: t.dtype }), wgsl: () => program as never });
    const t = rand([2]).to('webgpu');
    expect(() => bad('test.noPasses', { passes: [] })([t])).toThrow('test.noPasses: the WgslProgram has no passes');
    expect(() => bad('test.badGroups', { passes: [{ code: 'x', workgroups: [1.5] }] })([t])).toThrow(/test\.badGroups: pass 0 dispatches workgroups \[1\.5\]/);
    expect(() => bad('test.badParam', { passes: [{ code: 'x', workgroups: [1], params: [['u32', -1]] }] })([t])).toThrow(/test\.badParam: param 0 is \['u32', -1\]/);
    expect(() => bad('test.badScratch', { passes: [{ code: 'x', workgroups: [1] }], scratch: [6] })([t])).toThrow(/scratch buffer 0 has 6 bytes/);
    // a pass declaring more storage bindings than a shader may have (the input, the output, 40 scratch buffers)
    const many = Array.from({ length: 42 }, (_, b) => `@group(0) @binding(${b}) var<storage, read_write> s${b}: array<f32>;`).join('\n');
    expect(() => bad('test.tooManyBindings', { passes: [{ code: many, workgroups: [1] }], scratch: Array(40).fill(4) })([t])).toThrow(
      /test\.tooManyBindings: pass 0 declares 42 storage bindings \(of 1 inputs \+ 1 output \+ 40 scratch buffers\); this device allows \d+ per shader/,
    );
  });
});
