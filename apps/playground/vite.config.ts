import { defineConfig } from 'vite';
import { sourceAliases } from '../../vitest.aliases.js';
import { datasets } from './datasets.js';

/** SharedArrayBuffer (the wasm kernels' threads) needs a cross-origin isolated page. */
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  // relative asset URLs: the build can be hosted under any path
  base: './',
  // the @dl packages from their sources (as the tests do): no package build needed first
  resolve: { alias: sourceAliases() },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  // bundlerTimings: the datasets plugin's seconds of JSON parsing are expected, not a warning
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, rolldownOptions: { checks: { bundlerTimings: false } } },
  plugins: [datasets()],
});
