import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// tests run against the sources of the workspace packages, so they need no build
const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@dl/tensor': src('../../packages/tensor/src/index.ts'),
      '@dl/autograd': src('../../packages/autograd/src/index.ts'),
      '@dl/layers': src('../../packages/layers/src/index.ts'),
      '@dl/resnet': src('../../packages/resnet/src/index.ts'),
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
  },
});
