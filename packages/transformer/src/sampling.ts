// The sampling helpers live in @dl/layers (shared with @dl/mamba's generate); re-exported here so
// @dl/transformer's API is unchanged.
export { sampleLogits, argmax, checkSampling, type SamplingOptions } from '@dl/layers';
