import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../../vitest.aliases.js';

export default defineConfig({
  // the test makes a small BERT folder with @dl/bert from its sources
  resolve: { alias: sourceAliases() },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
