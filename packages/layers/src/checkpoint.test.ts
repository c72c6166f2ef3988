import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backward } from '@dl/autograd';
import { manualSeed, memory, randn, type Tensor } from '@dl/tensor';
import { build } from 'tsup';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, restoreCheckpoint, saveCheckpoint, serializeCheckpoint } from './checkpoint.js';
import { loadSafetensors, removeStaleTempFiles, writeFileAtomic } from './safetensors.js';
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

  it('named optimizers (a GAN\'s two) resume exactly; a name the file lacks is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-ckpt-'));
    try {
      manualSeed(2);
      const x = randn([8, 3]);
      const y = randn([8, 1]);
      const make = () => {
        const model = new Sequential(new Linear(3, 4), new Linear(4, 1));
        // each optimizer holds one layer, as a GAN's hold its generator and its discriminator
        return { model, first: new Adam(model.at(0).parameters(), { lr: 0.01 }), second: new SGD(model.at(1).parameters(), { lr: 0.1, momentum: 0.9 }) };
      };
      const step = (m: ReturnType<typeof make>) => {
        m.first.zeroGrad();
        m.second.zeroGrad();
        backward(mseLoss(m.model.forward(x), y));
        m.first.step();
        m.second.step();
      };
      const a = make();
      for (let i = 0; i < 3; i++) step(a);
      const path = join(dir, 'ckpt.safetensors');
      await saveCheckpoint(path, { model: a.model, optimizers: { first: a.first, second: a.second }, step: 3 });
      const b = make();
      expect((await loadCheckpoint(path, { model: b.model, optimizers: { first: b.first, second: b.second } })).step).toBe(3);
      step(a);
      step(b);
      const sa = a.model.stateDict();
      for (const [k, t] of Object.entries(b.model.stateDict())) expect(t.toArray(), k).toEqual(sa[k].toArray());
      const c = make();
      await expect(loadCheckpoint(path, { model: c.model, optimizers: { third: c.first } })).rejects.toThrow("loadCheckpoint: the checkpoint has no state of optimizer 'third' (it has: 'first', 'second')");
      await expect(loadCheckpoint(path, { model: c.model, optimizers: { first: c.second } })).rejects.toThrow("loadCheckpoint: checkpoint holds Adam state for 'first', the optimizer is SGD");
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
  it('loading the model alone frees the optimizer state it does not restore', async () => {
    const a = setup();
    trainStep(a.model, a.opt, randn([5, 3]), randn([5, 1])); // Adam now holds moments
    const bytes = await serializeCheckpoint({ model: a.model, optimizer: a.opt, step: 1 });
    const b = setup();
    const before = memory().tensors;
    restoreCheckpoint(bytes, { model: b.model });
    expect(memory().tensors).toBe(before);
  });
});

/** The pid of a process that has exited (and been reaped), so no process has it now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('crash recovery of checkpoint writes', () => {
  it('the next save removes the temporary files of crashed saves of the same target, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-ckpt-'));
    try {
      const a = setup();
      const path = join(dir, 'ckpt.safetensors');
      await saveCheckpoint(path, { model: a.model, optimizer: a.opt, step: 1 });
      const dead = await deadPid();
      const stale = [`ckpt.safetensors.tmp-${dead}-lx1b2c0`, `ckpt.safetensors.tmp-${process.pid}-lx1b2c1`];
      const kept = [
        `ckpt.safetensors.tmp-${process.ppid}-lx1b2c0`, // a live process may be writing it
        'ckpt.safetensors.tmp',
        `ckpt.safetensors.tmp-${dead}-LX1B`,
        `ckpt.safetensors.tmp-${dead}-lx1b.bak`,
        `other.safetensors.tmp-${dead}-lx1b2c0`,
        `xckpt.safetensors.tmp-${dead}-lx1b2c0`,
        'ckpt.safetensors.bak',
      ];
      for (const n of [...stale, ...kept]) writeFileSync(join(dir, n), 'partial');
      await saveCheckpoint(path, { model: a.model, optimizer: a.opt, step: 2 });
      expect(readdirSync(dir).sort()).toEqual(['ckpt.safetensors', ...kept].sort());
      const b = setup();
      expect((await loadCheckpoint(path, { model: b.model, optimizer: b.opt })).step).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loading (resuming) removes them too; removeStaleTempFiles says which', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-ckpt-'));
    try {
      const a = setup();
      const path = join(dir, 'ckpt.safetensors');
      await saveCheckpoint(path, { model: a.model, step: 1 });
      const dead = await deadPid();
      writeFileSync(join(dir, `ckpt.safetensors.tmp-${dead}-a`), 'partial');
      await loadCheckpoint(path, { model: setup().model });
      expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);
      writeFileSync(join(dir, `ckpt.safetensors.tmp-${dead}-b`), 'partial');
      await loadSafetensors(path);
      expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);
      writeFileSync(join(dir, `ckpt.safetensors.tmp-${dead}-c`), 'partial');
      expect(await removeStaleTempFiles(path)).toEqual([`ckpt.safetensors.tmp-${dead}-c`]);
      expect(await removeStaleTempFiles(join(dir, 'missing', 'x.safetensors'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kill -9 in the middle of a write: the target stays whole, the next save removes the temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-ckpt-kill-'));
    try {
      // a child process that rewrites one 16 MiB file in a loop, with this package's writeFileAtomic
      const entry = join(dir, 'writer.ts');
      writeFileSync(
        entry,
        `import { writeFileAtomic } from ${JSON.stringify(fileURLToPath(new URL('./safetensors.ts', import.meta.url)))};\n` +
          'const bytes = new Uint8Array(16 << 20).fill(7);\n' +
          'for (;;) await writeFileAtomic(process.argv[2], bytes);\n',
      );
      await build({
        entry: { writer: entry }, format: ['esm'], platform: 'node', target: 'node20', outDir: dir,
        config: false, silent: true, dts: false, sourcemap: false, clean: false, noExternal: [/^@dl\//],
        esbuildOptions(o) {
          const tensor = (f: string) => fileURLToPath(new URL(`../../tensor/src/${f}`, import.meta.url));
          o.alias = { '@dl/tensor/internal': tensor('internal.ts'), '@dl/tensor': tensor('index.ts') };
        },
      });
      const out = join(dir, 'data');
      mkdirSync(out);
      const path = join(out, 'big.bin');
      const isTemp = (n: string) => /^big\.bin\.tmp-\d+-[0-9a-z]+$/.test(n);
      let left: string[] = [];
      // killed as soon as a temporary file exists; rarely the rename wins the race, then again
      for (let attempt = 0; attempt < 5 && left.length === 0; attempt++) {
        const child = spawn(process.execPath, [join(dir, 'writer.js'), path], { stdio: 'ignore' });
        const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, signal) => resolve(signal)));
        const poll = setInterval(() => readdirSync(out).some(isTemp) && child.kill('SIGKILL'), 1);
        expect(await exited).toBe('SIGKILL');
        clearInterval(poll);
        left = readdirSync(out).filter(isTemp);
      }
      expect(left.length).toBeGreaterThan(0); // the crash left its temporary file
      const whole = (p: string) => {
        const b = readFileSync(p);
        return b.length === 16 << 20 && b.every((v) => v === 7);
      };
      if (existsSync(path)) expect(whole(path)).toBe(true); // never torn
      await writeFileAtomic(path, new Uint8Array(16 << 20).fill(7));
      expect(readdirSync(out)).toEqual(['big.bin']);
      expect(whole(path)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
