import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// training needs the gradients, which tfjs-core's main entry leaves out (the @tensorflow/tfjs
// union package registers them the same way); bundled, since its ESM files are not Node-ESM
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

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
