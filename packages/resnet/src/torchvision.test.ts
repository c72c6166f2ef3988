// Full-size resnet18 and resnet50 moved between torchvision and @dl/resnet through safetensors, in
// both directions, with torchvision itself run through /usr/bin/python3 (Debian's python3-torch and
// python3-torchvision; scripts/install-torch.sh). Where torch is missing these skip, unless
// DL_REQUIRE_TORCH=1 (CI sets it): then they fail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchNorm2d, init, loadSafetensors, saveSafetensors } from '@dl/layers';
import { noGrad } from '@dl/autograd';
import { manualSeed, randn } from '@dl/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { resnet18, resnet50, type ResNet } from './index.js';
import { maxAbs, maxAbsDiff, runFixtureScript, skipTorch, torchMissing } from './test-helpers.js';

if (skipTorch) console.log(`${torchMissing}: skipping the torchvision interchange (set DL_REQUIRE_TORCH=1 to fail instead)`);

const MODELS: [string, () => ResNet, number][] = [
  ['resnet18', () => resnet18(), 11_689_512],
  ['resnet50', () => resnet50(), 25_557_032],
];

describe.skipIf(skipTorch)('torchvision interchange (live, full size, 1000 classes, x [2,3,64,64])', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dl-resnet-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, make, count] of MODELS) {
    it(`${name}: torchvision's state dict (random weights, warmed batch-norm statistics) loads strictly and gives its eval logits`, async () => {
      const folder = mkdtempSync(join(dir, `${name}-tv-`));
      runFixtureScript('--make', name, folder);
      manualSeed(0);
      const model = make();
      expect(model.numParameters()).toBe(count);
      const { tensors } = await loadSafetensors(join(folder, 'tv.safetensors'));
      model.loadStateDict(tensors, { strict: true });
      const { tensors: io } = await loadSafetensors(join(folder, 'tv_io.safetensors'));
      const y = noGrad(() => model.eval().forward(io.x)); // (2, 1000)
      const diff = maxAbsDiff(y, io.y);
      console.log(`${name} torchvision -> @dl: max |logit diff| ${diff.toExponential(2)} (max |logit| ${maxAbs(io.y).toFixed(2)})`);
      expect(diff).toBeLessThan(1e-4 * Math.max(1, maxAbs(io.y)));
    });

    it(`${name}: our state dict loads into torchvision strictly and gives our eval logits`, async () => {
      const folder = mkdtempSync(join(dir, `${name}-dl-`));
      manualSeed(1);
      const model = make();
      // random affine terms and running statistics from train-mode forwards, as the other direction
      for (const m of model.modules()) {
        if (m instanceof BatchNorm2d) {
          init.uniform(m.weight!, 0.5, 1.5);
          init.normal(m.bias!, 0, 0.2);
        }
      }
      noGrad(() => {
        for (let i = 0; i < 3; i++) model.forward(randn([2, 3, 64, 64]).mul(2).add(0.5));
      });
      model.eval();
      const x = randn([2, 3, 64, 64]);
      const y = noGrad(() => model.forward(x));
      await saveSafetensors(join(folder, 'dl.safetensors'), model.stateDict());
      await saveSafetensors(join(folder, 'dl_io.safetensors'), { x, y });
      const out = JSON.parse(runFixtureScript('--check', name, folder)) as { maxdiff: number; maxabs: number; num_batches_tracked: number };
      console.log(`${name} @dl -> torchvision: max |logit diff| ${out.maxdiff.toExponential(2)} (max |logit| ${out.maxabs.toFixed(2)})`);
      expect(out.num_batches_tracked).toBe(3);
      expect(out.maxdiff).toBeLessThan(1e-4 * Math.max(1, out.maxabs));
    });
  }
});
