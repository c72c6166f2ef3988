import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../../vitest.aliases.js';

export default defineConfig({
  // @dl/* imports resolve to the workspace sources, so tests need no build
  resolve: { alias: sourceAliases() },
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: ['./vitest.setup.ts'],
    testTimeout: 300_000, // lavapipe runs on the same 2 cores as the other packages' tests
    hookTimeout: 300_000,
    // one GPU device per worker process is plenty on a software adapter
    fileParallelism: false,
  },
});
