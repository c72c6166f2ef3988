import { runConformance } from '@dl/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasWebGPU, useWebGPU } from './test-utils.js';

// The @dl/tensor conformance suite (PyTorch fixtures), unchanged, on the WebGPU backend.
describe.skipIf(!hasWebGPU)('webgpu', () => {
  beforeAll(async () => {
    await useWebGPU();
  });
  runConformance({ describe, it, expect }, { device: 'webgpu' });
});
