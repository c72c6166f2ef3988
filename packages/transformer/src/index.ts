/**
 * @dl/transformer: scaled dot-product attention (a fused kernel with a composed reference),
 * multi-head attention, PyTorch's nn.Transformer family, position encodings, MLP blocks, the GPT
 * language model with a KV cache and Hugging Face GPT-2 interchange, and char / byte-level BPE
 * tokenizers.
 */
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from './attention.js';
export { fusedAttention, attentionProbs, futureMask, type FusedAttentionAttrs } from './fused-attention.js';
export { MultiheadAttention } from './multihead.js';
export {
  Transformer,
  TransformerEncoder,
  TransformerDecoder,
  TransformerEncoderLayer,
  TransformerDecoderLayer,
  type TransformerActivation,
  type TransformerLayerOptions,
  type TransformerOptions,
  type TransformerCallOptions,
  type EncoderLayerCallOptions,
  type DecoderLayerCallOptions,
} from './transformer.js';
export { SinusoidalPositionalEncoding, LearnedPositionalEmbedding, RotaryEmbedding, sinusoidalTable, rotateHalf, type PositionalEncodingOptions, type RotaryOptions } from './position.js';
export { MLP, SwiGLU, applyActivation, type MLPActivation, type MLPOptions } from './mlp.js';
export {
  GPT,
  GPTModel,
  GPTBlock,
  GPTMLP,
  CausalSelfAttention,
  Conv1D,
  KVCache,
  defaultGPTConfig,
  type GPTConfig,
  type GenerateOptions,
  type TokenInput,
} from './gpt.js';
export { ConfigError, configNumber, activationFromHF, activationToHF, readPretrainedFolder, writePretrainedFolder } from './hf-folder.js';
export { gpt2ConfigFromJson, gpt2ConfigToJson, normalizeGPT2Keys, loadGPT2StateDict, readGPT2Folder, writeGPT2Folder } from './gpt2-hf.js';
export { sampleLogits, argmax, checkSampling, type SamplingOptions } from './sampling.js';
export { CharTokenizer, type Tokenizer, type StreamDecoder } from './char-tokenizer.js';
export { BPETokenizer, bytesToUnicode, GPT2_PATTERN, type BPEOptions } from './bpe-tokenizer.js';
