import type { Options } from 'tsup';

/**
 * The tsup build every @dl package shares: src/index.ts as ES2022 ESM with .d.ts and source maps,
 * into a cleaned dist/. `overrides` replace whole options (entry, dts, platform, ...).
 *
 * @example
 * // packages/<name>/tsup.config.ts
 * import { packageConfig } from '../../tsup.base';
 * export default packageConfig({ entry: { index: 'src/index.ts', internal: 'src/internal.ts' } });
 */
export function packageConfig(overrides: Options = {}): Options {
  return {
    entry: { index: 'src/index.ts' },
    format: ['esm'],
    dts: true,
    target: 'es2022',
    sourcemap: true,
    clean: true,
    ...overrides,
  };
}
