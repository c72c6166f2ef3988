import { beforeAll, describe, expect, it } from 'vitest';
import { setCpuKernels } from '../index.js';
import { wasmAvailable } from '../cpu/wasm/index.js';
import { runConformance } from './index.js';

// The same PyTorch fixtures against both CPU kernel sets: the WebAssembly SIMD kernels (the
// default) and the pure-TypeScript reference.
describe('cpu with wasm kernels', () => {
  beforeAll(() => setCpuKernels(wasmAvailable() ? 'wasm' : 'js'));
  runConformance({ describe, it, expect }, { device: 'cpu' });
});

describe('cpu with js reference kernels', () => {
  beforeAll(() => setCpuKernels('js'));
  runConformance({ describe, it, expect }, { device: 'cpu' });
});
