import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backward } from '@dl/autograd';
import { manualSeed, randn, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Sequential } from './container.js';
import { Linear } from './linear.js';
import { BatchNorm1d } from './norm.js';
import { mseLoss } from './loss.js';
import { Adam } from './optim/adam.js';
import { SGD } from './optim/sgd.js';

function setup() {
  const model = new Sequential(new Linear(3, 4), new BatchNorm1d(4), new Linear(4, 1));
  return { model, opt: new Adam(model.parameters(), { lr: 0.01 }) };
}

function trainStep(model: Sequential, opt: Adam, x: Tensor, y: Tensor): void {
  opt.zeroGrad();
  backward(mseLoss(model.forward(x), y));
  opt.step();
}

describe('checkpoints', () => {
  it('resume training exactly: model, buffers, optimizer state and step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-ckpt-'));
    try {
      manualSeed(1);
      const x = randn([8, 3]);
      const y = randn([8, 1]);
      const a = setup();
      for (let i = 0; i < 3; i++) trainStep(a.model, a.opt, x, y);
      const path = join(dir, 'ckpt.safetensors');
      await saveCheckpoint(path, { model: a.model, optimizer: a.opt, step: 3, extra: { epoch: 1 } });
      expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);

      const b = setup();
      const { step, extra } = await loadCheckpoint(path, { model: b.model, optimizer: b.opt });
      expect(step).toBe(3);
      expect(extra).toEqual({ epoch: 1 });
      trainStep(a.model, a.opt, x, y);
      trainStep(b.model, b.opt, x, y);
      const sa = a.model.stateDict();
      for (const [k, t] of Object.entries(b.model.stateDict())) expect(t.toArray(), k).toEqual(sa[k].toArray());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses optimizer state of another type', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-ckpt-'));
    try {
      const a = setup();
      const path = join(dir, 'c.safetensors');
      await saveCheckpoint(path, { model: a.model, optimizer: a.opt, step: 0 });
      const b = setup();
      await expect(loadCheckpoint(path, { model: b.model, optimizer: new SGD(b.model.parameters(), { lr: 1 }) })).rejects.toThrow('loadCheckpoint: checkpoint holds Adam state, the optimizer is SGD');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
