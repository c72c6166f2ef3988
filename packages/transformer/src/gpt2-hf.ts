/**
 * Hugging Face's GPT-2 folder format: `config.json` (GPT2Config) and `model.safetensors`
 * (GPT2LMHeadModel's state dict: `transformer.h.0.attn.c_attn.weight` ..., or without the
 * `transformer.` prefix as the hub's gpt2 holds it; the tied `lm_head.weight` and the causal-mask
 * buffers `attn.bias` / `attn.masked_bias` may be present or not). GPT's own state dict already
 * uses these names and layouts, so moving weights is renaming at most.
 */
import { fmt, zeros, type Tensor } from '@dl/tensor';
import type { Module, StateDict } from '@dl/layers';
import type { GPTConfig } from './gpt.js';
import { ConfigError, activationFromHF, activationToHF, configNumber, readPretrainedFolder, writePretrainedFolder } from './hf-folder.js';

export { ConfigError };

const OP = 'GPT.fromPretrained';

/**
 * GPTConfig from a parsed GPT2Config (config.json); `where` names the file in errors.
 *
 *   gpt2ConfigFromJson({ vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 });
 */
export function gpt2ConfigFromJson(json: Record<string, unknown>, where = 'config.json'): GPTConfig {
  const num = (key: string, fallback?: number): number => configNumber(OP, where, json, key, fallback);
  const optional = (key: string): number | null => configNumber(OP, where, json, key, null);
  const type = json.model_type;
  if (type !== undefined && type !== 'gpt2') throw new ConfigError(OP, `${where}: model_type is ${JSON.stringify(type)}, this reads 'gpt2'`, ['model_type']);
  const activation = activationFromHF(OP, where, 'activation_function', json.activation_function ?? 'gelu_new');
  // settings of GPT2Config this model does not implement: refuse rather than compute something else
  const unsupported: [string, unknown, unknown][] = [
    ['scale_attn_weights', json.scale_attn_weights ?? true, true],
    ['scale_attn_by_inverse_layer_idx', json.scale_attn_by_inverse_layer_idx ?? false, false],
    ['tie_word_embeddings', json.tie_word_embeddings ?? true, true],
    ['add_cross_attention', json.add_cross_attention ?? false, false],
  ];
  for (const [key, got, want] of unsupported) {
    if (got !== want) throw new ConfigError(OP, `${where}: ${key} is ${JSON.stringify(got)}; GPT supports only ${JSON.stringify(want)}`, [key]);
  }
  const blockSize = optional('n_positions') ?? optional('n_ctx');
  if (blockSize === null) throw new ConfigError(OP, `${where} has no 'n_positions'`, ['n_positions']);
  return {
    vocabSize: num('vocab_size'),
    blockSize,
    nEmbd: num('n_embd'),
    nLayer: num('n_layer'),
    nHead: num('n_head'),
    nInner: optional('n_inner'),
    activation,
    layerNormEpsilon: num('layer_norm_epsilon', 1e-5),
    initializerRange: num('initializer_range', 0.02),
    dropout: num('resid_pdrop', 0.1),
    bias: true,
  };
}

/**
 * The GPT2Config (config.json) of a GPTConfig. A function activation has no name there; a model
 * without biases is written with zero biases (the same function), so the config says nothing of it.
 */
export function gpt2ConfigToJson(c: GPTConfig): Record<string, unknown> {
  const special = c.vocabSize > 50256 ? 50256 : null;
  return {
    activation_function: activationToHF('GPT.savePretrained', 'activation_function', c.activation),
    architectures: ['GPT2LMHeadModel'],
    attn_pdrop: c.dropout,
    bos_token_id: special,
    embd_pdrop: c.dropout,
    eos_token_id: special,
    initializer_range: c.initializerRange,
    layer_norm_epsilon: c.layerNormEpsilon,
    model_type: 'gpt2',
    n_ctx: c.blockSize,
    n_embd: c.nEmbd,
    n_head: c.nHead,
    n_inner: c.nInner,
    n_layer: c.nLayer,
    n_positions: c.blockSize,
    reorder_and_upcast_attn: false,
    resid_pdrop: c.dropout,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: c.vocabSize,
  };
}

/** Tensors that are not weights: GPT-2's causal-mask buffers (both generations of them). */
const isMaskBuffer = (k: string): boolean => /(^|\.)attn\.(masked_)?bias$/.test(k);

/**
 * The checkpoint's tensors under GPT's names: `transformer.` added where the file leaves it out,
 * mask buffers dropped, and the tied `lm_head.weight` set to the token embedding.
 */
export function normalizeGPT2Keys(tensors: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(tensors)) {
    if (isMaskBuffer(k) || k === 'lm_head.weight') continue;
    out[k.startsWith('transformer.') ? k : `transformer.${k}`] = v;
  }
  const wte = out['transformer.wte.weight'];
  if (wte) out['lm_head.weight'] = wte;
  return out;
}

/** Compares what the weights say (sizes, layer count) with the config; throws ConfigError naming both. */
function checkAgainstWeights(c: GPTConfig, sd: Record<string, Tensor>, where: string): void {
  const shape = (k: string): readonly number[] | null => sd[k]?.shape ?? null;
  const wte = shape('transformer.wte.weight');
  const wpe = shape('transformer.wpe.weight');
  const fc = shape('transformer.h.0.mlp.c_fc.weight');
  const problems: { msg: string; keys: string[] }[] = [];
  if (wte && (wte[0] !== c.vocabSize || wte[1] !== c.nEmbd)) {
    problems.push({ msg: `vocab_size ${c.vocabSize} and n_embd ${c.nEmbd} but transformer.wte.weight is ${fmt(wte)}`, keys: ['vocab_size', 'n_embd', 'transformer.wte.weight'] });
  }
  if (wpe && (wpe[0] !== c.blockSize || wpe[1] !== c.nEmbd)) {
    problems.push({ msg: `n_positions ${c.blockSize} and n_embd ${c.nEmbd} but transformer.wpe.weight is ${fmt(wpe)}`, keys: ['n_positions', 'n_embd', 'transformer.wpe.weight'] });
  }
  const inner = c.nInner ?? 4 * c.nEmbd;
  if (fc && fc[1] !== inner) problems.push({ msg: `n_inner ${c.nInner ?? `null (4 * n_embd = ${inner})`} but transformer.h.0.mlp.c_fc.weight is ${fmt(fc)}`, keys: ['n_inner', 'transformer.h.0.mlp.c_fc.weight'] });
  const blocks = new Set(Object.keys(sd).flatMap((k) => /^transformer\.h\.(\d+)\./.exec(k)?.[1] ?? []));
  if (blocks.size !== c.nLayer) {
    const held = [...blocks].map(Number).sort((a, b) => a - b);
    problems.push({ msg: `n_layer ${c.nLayer} but the weights hold ${held.length} blocks (h.${held.join(', h.')})`, keys: ['n_layer', ...held.map((i) => `transformer.h.${i}`)] });
  }
  if (problems.length) throw new ConfigError(OP, `${where} does not match the weights: ${problems.map((p) => p.msg).join('; ')}`, problems.flatMap((p) => p.keys));
}

/**
 * Loads a GPT-2 checkpoint's tensors (any of the key layouts above) into `model` after checking
 * them against its config: ConfigError for disagreeing sizes, StateDictError (from loadStateDict,
 * strict) naming missing, unexpected or misshapen tensors.
 */
export function loadGPT2StateDict(model: Module & { config: Readonly<GPTConfig> }, tensors: Record<string, Tensor>, where = 'the checkpoint'): void {
  const sd = normalizeGPT2Keys(tensors);
  checkAgainstWeights(model.config, sd, `the config of ${where}`);
  model.loadStateDict(sd, { strict: true });
}

/** config.json and model.safetensors of a folder, parsed (Node). */
export async function readGPT2Folder(dir: string): Promise<{ config: GPTConfig; tensors: Record<string, Tensor> }> {
  const { json, tensors, configPath } = await readPretrainedFolder(dir, OP);
  return { config: gpt2ConfigFromJson(json, configPath), tensors };
}

/** Writes config.json and model.safetensors (prefixed names, no tied head, zero biases for a model without them), atomically. */
export async function writeGPT2Folder(dir: string, config: GPTConfig, sd: StateDict): Promise<void> {
  const json = gpt2ConfigToJson(config);
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(sd)) if (k !== 'lm_head.weight') out[k] = v;
  if (!config.bias) {
    // GPT2LMHeadModel always has biases: zeros give the same function
    const inner = config.nInner ?? 4 * config.nEmbd;
    const widths: [string, number][] = [['ln_1.bias', config.nEmbd], ['ln_2.bias', config.nEmbd], ['attn.c_attn.bias', 3 * config.nEmbd], ['attn.c_proj.bias', config.nEmbd], ['mlp.c_fc.bias', inner], ['mlp.c_proj.bias', config.nEmbd]];
    for (let i = 0; i < config.nLayer; i++) for (const [k, n] of widths) out[`transformer.h.${i}.${k}`] = zeros([n]);
    out['transformer.ln_f.bias'] = zeros([config.nEmbd]);
  }
  await writePretrainedFolder(dir, json, out);
}
