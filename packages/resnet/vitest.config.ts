import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// tests run against the sources of the sibling packages, so they need no build
const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@dl\/tensor$/, replacement: src('../tensor/src/index.ts') },
      { find: /^@dl\/autograd$/, replacement: src('../autograd/src/index.ts') },
      { find: /^@dl\/layers$/, replacement: src('../layers/src/index.ts') },
    ],
  },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
  },
});
