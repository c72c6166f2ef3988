// Bundles bench/gpu-bench.ts into one file (Dawn's `webgpu` stays external) for machines with only Node.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
await build({
  entryPoints: [here('./gpu-bench.ts')],
  outfile: here('./dist/gpu-bench.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  alias: { '@dl/tensor/internal': here('../../tensor/src/internal.ts'), '@dl/tensor': here('../../tensor/src/index.ts'), '@dl/autograd': here('../../autograd/src/index.ts') },
  logLevel: 'warning',
});
console.log('bench/dist/gpu-bench.mjs');
