// Bundles bench/conv-ddpm.ts into one file for plain Node.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
await build({
  entryPoints: [here('./conv-ddpm.ts')],
  outfile: here('./dist/conv-ddpm.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
});
console.log('bench/dist/conv-ddpm.mjs');
