import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  // the public types name GPUDevice/GPUBuffer: point consumers at @webgpu/types
  dts: { banner: '/// <reference types="@webgpu/types" />' },
  target: 'es2022',
  sourcemap: true,
  clean: true,
});
