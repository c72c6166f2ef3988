import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // tests run against @dl/tensor's source, so they never see a stale dist
    alias: { '@dl/tensor': fileURLToPath(new URL('../tensor/src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
