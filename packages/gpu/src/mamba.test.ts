// @dl/mamba's selective scan on WebGPU: the WGSL programs (forward; backward with its reduce
// pass) give the CPU kernel's values and gradients, for input-dependent and fixed B/C, with and
// without z and the last state; the tiny MambaLMHeadModel of packages/mamba/fixtures (PyTorch)
// gives its logits, loss and gradients on WebGPU, and recurrent generation its greedy tokens.
import { backward } from '@dl/autograd';
import { parseSafetensors } from '@dl/layers';
import { MambaLM, selectiveScan } from '@dl/mamba';
import { ShapeError, manualSeed, rand, randn, type Tensor } from '@dl/tensor';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, hasWebGPU, useWebGPU } from './test-utils.js';

describe.skipIf(!hasWebGPU)('@dl/mamba selective scan on webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });

  for (const v of [
    { varB: true, varC: true, z: true, last: true, softplus: true },
    { varB: false, varC: true, z: false, last: false, softplus: false },
    { varB: true, varC: false, z: true, last: false, softplus: true },
  ]) {
    it(`gives the CPU kernel's y, last state and gradients (${JSON.stringify(v)})`, async () => {
      manualSeed(11);
      const [batch, D, L, N] = [2, 5, 9, 4];
      const cpu = {
        u: randn([batch, D, L]),
        delta: randn([batch, D, L]).mul(0.5),
        A: rand([D, N]).mul(-2).sub(0.2),
        B: v.varB ? randn([batch, N, L]) : randn([D, N]),
        C: v.varC ? randn([batch, N, L]) : randn([D, N]),
        D: randn([D]),
        z: randn([batch, D, L]),
        deltaBias: randn([D]).mul(0.3),
      };
      const w = randn([batch, D, L]);
      const ws = randn([batch, D, N]);
      const run = (device: string) => {
        const x = Object.fromEntries(Object.entries(cpu).map(([k, t]) => [k, t.to(device).requiresGrad_()])) as typeof cpu;
        const out = selectiveScan(x.u, x.delta, x.A, x.B, x.C, x.D, { z: v.z ? x.z : null, deltaBias: x.deltaBias, deltaSoftplus: v.softplus, returnLastState: true });
        const loss = out.y.mul(w.to(device)).sum().add(v.last ? out.lastState.mul(ws.to(device)).sum() : 0);
        backward(loss);
        return { out, x };
      };
      const c = run('cpu');
      const g = run('webgpu');
      expect(g.out.y.device).toBe('webgpu');
      expectClose(await g.out.y.data(), c.out.y.dataSync(), 1e-4, 1e-5, 'y');
      expectClose(await g.out.lastState.data(), c.out.lastState.dataSync(), 1e-4, 1e-5, 'lastState');
      for (const k of Object.keys(cpu) as (keyof typeof cpu)[]) {
        if (k === 'z' && !v.z) continue;
        const gg = g.x[k].grad as Tensor;
        expectClose(await gg.data(), (c.x[k].grad as Tensor).dataSync(), 2e-4, 2e-5, `d${k}`);
      }
    });
  }

  it('MambaLM.fromPretrained on webgpu: the PyTorch reference logits, loss and gradients; greedy generation as on CPU', async () => {
    const fixtures = fileURLToPath(new URL('../../mamba/fixtures/', import.meta.url));
    const io = parseSafetensors(new Uint8Array(readFileSync(`${fixtures}mamba-tiny-io.safetensors`))).tensors;
    const model = await MambaLM.fromPretrained(`${fixtures}mamba-tiny`, { device: 'webgpu' });
    const { logits, loss } = model.forward(io.input_ids.to('webgpu'), io.targets.to('webgpu'));
    expect(logits.device).toBe('webgpu');
    expectClose(await logits.data(), io.logits.dataSync(), 1e-4, 1e-5, 'logits');
    backward(loss);
    for (const name of ['backbone.layers.0.mixer.A_log', 'backbone.layers.1.mixer.in_proj.weight', 'backbone.layers.0.mixer.dt_proj.bias', 'backbone.embedding.weight']) {
      expectClose(await model.stateDict()[name].grad!.data(), io[`grad.${name}`].dataSync(), 2e-3, 2e-5, `grad ${name}`);
    }
    const cpu = await MambaLM.fromPretrained(`${fixtures}mamba-tiny`);
    const prompt = [[1, 2, 3]];
    const g = await model.generate(prompt, { maxNewTokens: 6, temperature: 0 });
    expect(Array.from(await g.data())).toEqual(Array.from((await cpu.generate(prompt, { maxNewTokens: 6, temperature: 0 })).dataSync()));
  });

  it('refuses a d_state its registers cannot hold, naming the shapes', () => {
    const u = randn([1, 2, 3]).to('webgpu');
    const A = rand([2, 300]).neg().to('webgpu');
    const B = randn([1, 300, 3]).to('webgpu');
    expect(() => selectiveScan(u, u, A, B, B)).toThrow(ShapeError);
    expect(() => selectiveScan(u, u, A, B, B)).toThrow(/d_state N = 300 \(A \[2,300\]\) is outside what the WGSL scan takes: 1 to 256/);
  });
});
