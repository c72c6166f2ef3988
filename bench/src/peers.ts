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

/** PyTorch CPU's median ms for the same work as the @dl rows (bench/torch_steps.py, 2 threads). */
export interface TorchFigures {
  matmul: Record<string, number>;
  conv2d: number;
  mnist: number;
  gpt: number;
}

let torchRun: TorchFigures | string | undefined;

/** PyTorch's figures, measured once per run, or why there are none (shown in the table instead). */
export function torchCpu(): TorchFigures | string {
  if (torchRun !== undefined) return torchRun;
  const py = '/usr/bin/python3';
  const script = fileURLToPath(new URL('../torch_steps.py', import.meta.url));
  const r = existsSync(py) ? spawnSync(py, [script], { encoding: 'utf8', timeout: 600_000 }) : null;
  if (!r) torchRun = `not run: no ${py}`;
  else if (r.status !== 0) torchRun = /No module named 'torch'/.test(r.stderr) ? 'not run: python3-torch not installed' : `failed: ${r.stderr.trim().split('\n').pop()}`;
  else torchRun = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as TorchFigures;
  return torchRun;
}
