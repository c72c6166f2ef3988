/**
 * @dl/bert: BERT with Hugging Face's parameter names and folder layout (BertModel, BertForMaskedLM,
 * BertForSequenceClassification), mean-pooled sentence embeddings, a WordPiece tokenizer and MLM masking.
 */
export {
  BertModel,
  BertForMaskedLM,
  BertForSequenceClassification,
  BertEmbeddings,
  BertSelfAttention,
  BertSelfOutput,
  BertAttention,
  BertIntermediate,
  BertOutput,
  BertLayer,
  BertEncoder,
  BertPooler,
  BertPredictionHeadTransform,
  BertLMPredictionHead,
  BertOnlyMLMHead,
  type BertInputs,
  type BertModelInputs,
  type BertModelOutput,
  type BertLabelInputs,
  type BertModuleOptions,
} from './bert.js';
export { bertConfig, bertConfigFromJson, bertConfigToJson, defaultBertConfig, type BertConfig, type BertProblemType } from './config.js';
export { loadBertWeights, normalizeBertKeys, readBertFolder, writeBertFolder, type BertLoadOptions, type BertLoadReport } from './bert-hf.js';
export { meanPooling } from './pooling.js';
export { BasicTokenizer, cleanText, isChineseChar, isPunctuation, splitOnPunctuation, stripAccents, whitespaceTokenize, type BasicTokenizerOptions } from './basic-tokenizer.js';
export {
  BertTokenizer,
  WordpieceTokenizer,
  TokenizerError,
  cleanUpTokenization,
  tokenizerOptionsFromConfig,
  type BertTokenizerOptions,
  type BertEncoding,
  type BertBatch,
  type EncodeOptions,
  type DecodeOptions,
  type Truncation,
  type Padding,
} from './tokenizer.js';
export { trainWordPiece, type TrainWordPieceOptions } from './wordpiece.js';
export { maskTokens, type MaskTokensOptions, type MaskedTokens } from './masking.js';
