/**
 * @dl/mamba: Mamba selective state-space models — the selective scan as a fused CPU/WGSL op of
 * this package (defined with @dl/tensor's `defineOp`, with its own gradient rule), the Mamba mixer,
 * residual blocks with RMSNorm, the MambaLM language model with recurrent generation, and the
 * state-spaces/mamba checkpoint layout.
 */
export { selectiveScan, selectiveScanOp, type SelectiveScanOptions } from './selective-scan.js';
export { selectiveScanRef } from './selective-scan-ref.js';
export { causalConv1d, causalConv1dOp, type CausalConv1dAttrs } from './causal-conv1d.js';
export { MAX_WGSL_STATE } from './selective-scan-wgsl.js';
export type { ScanAttrs } from './scan-layout.js';
export { Mamba, Block, MixerModel, MambaState, initMambaWeights, type LayerState } from './mamba.js';
export { MambaLM, type MambaGenerateOptions, type TokenInput } from './lm.js';
export { defaultMambaConfig, mambaConfigFromJson, mambaConfigToJson, MambaConfigError, type MambaConfig } from './config.js';
