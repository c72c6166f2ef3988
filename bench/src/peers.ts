import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// training needs the gradients, which tfjs-core's main entry leaves out (the @tensorflow/tfjs
// union package registers them the same way); bundled, since its ESM files are not Node-ESM
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** TensorFlow.js 4.22 with its `cpu` (pure JS) and `wasm` (SIMD, 1 thread) backends. */
export async function useTfjs(backend: 'cpu' | 'wasm'): Promise<typeof tf> {
  if (backend === 'wasm') {
    const require = createRequire(import.meta.url);
    setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  }
  await tf.setBackend(backend);
  await tf.ready();
  return tf;
}

/** PyTorch CPU's median ms for the op rows (bench/torch/ops.py, 2 threads). */
export interface TorchOps {
  matmul: Record<string, number>;
  conv2d: number;
}

/** Runs a script of bench/torch/ and parses its last line, or says why it could not (shown in the table). */
function runTorch<T>(script: string, args: readonly string[] = []): T | string {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return `not run: no ${py}`;
  const path = fileURLToPath(new URL(`../torch/${script}`, import.meta.url));
  const timeoutMs = 600_000;
  const r = spawnSync(py, [path, ...args], { encoding: 'utf8', timeout: timeoutMs, cwd: dirname(path) });
  if (r.signal) return `not measured: killed by ${r.signal} (over ${timeoutMs / 1000} s)`;
  if (r.status !== 0) return /No module named 'torch'/.test(r.stderr) ? 'not run: python3-torch not installed' : `failed: ${r.stderr.trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
}

let opsRun: TorchOps | string | undefined;

/** PyTorch's op figures, measured once per run, or why there are none. */
export function torchOps(): TorchOps | string {
  return (opsRun ??= runTorch<TorchOps>('ops.py'));
}

/** PyTorch's median ms/step of a workload's script in bench/torch/ (with its arguments), or why there is none. */
export function torchStep(script: string, args: readonly string[] = []): number | string {
  const r = runTorch<{ ms: number }>(script, args);
  return typeof r === 'string' ? r : r.ms;
}

/**
 * PyTorch's greedy generation tokens/s of the gpt-char model (torch/gpt_char_generate.py), keyed
 * `cache 64`, `no cache 64`, ...: one process per length (the model's block the longest), so a
 * length that runs past the time limit (no cache at 1,024 on a busy machine) costs only its own
 * cells, which then say why.
 */
export function torchGeneration(lengths: readonly number[]): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const n of lengths) {
    const r = runTorch<{ tokens_per_s: Record<string, number> }>('gpt_char_generate.py', ['--block', String(Math.max(...lengths)), String(n)]);
    for (const c of ['cache', 'no cache']) out[`${c} ${n}`] = typeof r === 'string' ? r : r.tokens_per_s[`${c} ${n}`];
  }
  return out;
}
