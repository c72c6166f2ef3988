import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../../vitest.aliases.js';

export default defineConfig({
  // @dl/* imports resolve to the workspace sources, so tests need no build
  resolve: { alias: sourceAliases() },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
  },
});
