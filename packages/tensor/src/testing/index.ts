/**
 * @dl/tensor/testing: the backend-agnostic conformance suite (PyTorch fixtures) and its helpers,
 * and assertClose (torch.testing.assert_close) for tests of models built on @dl.
 *
 *   import { describe, it, expect } from 'vitest';
 *   import { runConformance } from '@dl/tensor/testing';
 *   runConformance({ describe, it, expect }, { device: 'webgpu' });
 */
export {
  runConformance,
  runCase,
  buildInput,
  compareValues,
  outputsOf,
  fixtureValue,
  fixtures,
  OPS,
  METHODS,
  type ConformanceOptions,
  type FixtureCase,
  type FixtureInput,
  type FixtureNumber,
  type FixtureTensor,
  type TestApi,
} from './conformance.js';
export {
  runSweep,
  runSweepCase,
  errorProblem,
  tensorProblem,
  type SweepApi,
  type SweepCase,
  type ThrowsCase,
  type PassesCase,
  type ExpectedTensor,
  type DLErrorClass,
} from './sweep.js';
export { assertClose, assertCloseAsync, maxAbsDiff, maxAbs, type CloseOptions } from './compare.js';
