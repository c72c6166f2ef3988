// Bundles bench/conv-ddpm.ts and bench/rows-ddpm.ts into one file each for plain Node.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
await build({
  entryPoints: [here('./conv-ddpm.ts'), here('./rows-ddpm.ts')],
  outdir: here('./dist'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
});
console.log('bench/dist/conv-ddpm.mjs bench/dist/rows-ddpm.mjs');
