import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// tests run against the sources of the sibling packages, so they need no build
const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@dl/tensor': src('../tensor/src/index.ts'),
      '@dl/autograd': src('../autograd/src/index.ts'),
      '@dl/layers': src('../layers/src/index.ts'),
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
