import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // test against the sources of @dl/tensor (and @dl/autograd, @dl/layers), so a fresh checkout needs no build first
    alias: [
      { find: /^@dl\/tensor\/testing$/, replacement: src('../tensor/src/testing/index.ts') },
      { find: /^@dl\/tensor$/, replacement: src('../tensor/src/index.ts') },
      { find: /^@dl\/autograd$/, replacement: src('../autograd/src/index.ts') },
      { find: /^@dl\/layers$/, replacement: src('../layers/src/index.ts') },
      { find: /^@dl\/resnet$/, replacement: src('../resnet/src/index.ts') },
    ],
  },
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: ['./vitest.setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // one GPU device per worker process is plenty on a software adapter
    fileParallelism: false,
  },
});
