import { defineConfig } from 'tsup';

// Benchmarks run from dist/ with the workspace packages and TensorFlow.js resolved at run time.
export default defineConfig({
  entry: ['src/cpu.ts', 'src/dispatches.ts', 'src/profile.ts'],
  format: 'esm',
  target: 'node20',
  outDir: 'dist',
  silent: true,
  // tfjs packages stay external, except the gradient registrations (see peers.ts)
  external: [/^@tensorflow\/[^/]+$/, /^@dl\//, /^node:/],
});
