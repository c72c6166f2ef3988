import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../../../vitest.aliases.js';

/** `pnpm --filter @dl/playground measure`: figures only, never part of `pnpm test`. */
export default defineConfig({
  resolve: { alias: sourceAliases() },
  test: { include: ['measure/**/*.measure.ts'], testTimeout: 600_000, hookTimeout: 120_000 },
});
