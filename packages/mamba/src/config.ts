/**
 * Mamba's config: the fields of state-spaces/mamba's `MambaConfig` (mixer_seq_simple.py) and its
 * `ssm_cfg` (the Mamba mixer's arguments), and their config.json form.
 */
import { DLError, type Tensor, fmt } from '@dl/tensor';

export interface MambaConfig {
  /** 2560; the residual stream's width */
  dModel: number;
  /** 64; residual blocks */
  nLayer: number;
  /** 50277; tokens (the embedding holds it rounded up to padVocabSizeMultiple) */
  vocabSize: number;
  /** 16; N, the SSM state per channel */
  dState: number;
  /** 4; width of the depthwise causal convolution */
  dConv: number;
  /** 2; dInner = expand * dModel */
  expand: number;
  /** 'auto'; rank of the dt projection, 'auto' = ceil(dModel / 16) */
  dtRank: number | 'auto';
  /** 0.001 and 0.1; the range dt starts in (log-uniform), through the dt_proj bias */
  dtMin: number;
  dtMax: number;
  /** 'random'; dt_proj.weight init: U(-s, s) or the constant s, s = dtRank^-0.5 * dtScale */
  dtInit: 'random' | 'constant';
  dtScale: number;
  /** 1e-4; the smallest initial dt */
  dtInitFloor: number;
  /** true; conv1d has a bias */
  convBias: boolean;
  /** false; in_proj and out_proj have biases */
  bias: boolean;
  /** true; RMSNorm (else LayerNorm) before each mixer and at the end */
  rmsNorm: boolean;
  /** 1e-5 */
  normEpsilon: number;
  /** true; kept for the file: the residual is float32 here whatever it says */
  residualInFp32: boolean;
  /** true; kept for the file: a fused add+norm kernel in the reference, the same math */
  fusedAddNorm: boolean;
  /** 8; the vocabulary is padded to a multiple of it */
  padVocabSizeMultiple: number;
  /** true; lm_head.weight is the embedding's */
  tieEmbeddings: boolean;
}

export const defaultMambaConfig: Readonly<MambaConfig> = Object.freeze({
  dModel: 2560,
  nLayer: 64,
  vocabSize: 50277,
  dState: 16,
  dConv: 4,
  expand: 2,
  dtRank: 'auto',
  dtMin: 0.001,
  dtMax: 0.1,
  dtInit: 'random',
  dtScale: 1,
  dtInitFloor: 1e-4,
  convBias: true,
  bias: false,
  rmsNorm: true,
  normEpsilon: 1e-5,
  residualInFp32: true,
  fusedAddNorm: true,
  padVocabSizeMultiple: 8,
  tieEmbeddings: true,
});

/**
 * A config that this package cannot follow, or one that does not match the weights; `keys` names
 * the config keys and tensors involved.
 */
export class MambaConfigError extends DLError {
  constructor(
    op: string,
    message: string,
    readonly keys: string[],
  ) {
    super(op, message);
  }
}

/** Sizes derived from a config: dInner, dtRank, the padded vocabulary. */
export function derived(c: MambaConfig): { dInner: number; dtRank: number; paddedVocab: number } {
  const m = c.padVocabSizeMultiple;
  return {
    dInner: c.expand * c.dModel,
    dtRank: c.dtRank === 'auto' ? Math.ceil(c.dModel / 16) : c.dtRank,
    paddedVocab: c.vocabSize % m === 0 ? c.vocabSize : c.vocabSize + m - (c.vocabSize % m),
  };
}

/** Throws MambaConfigError naming every bad field. */
export function checkConfig(op: string, c: MambaConfig): void {
  const bad: string[] = [];
  const posInt = (k: keyof MambaConfig): void => {
    const v = c[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1)) bad.push(`${k} must be an integer >= 1, got ${JSON.stringify(v)}`);
  };
  (['dModel', 'nLayer', 'vocabSize', 'dState', 'dConv', 'expand', 'padVocabSizeMultiple'] as const).forEach(posInt);
  if (c.dtRank !== 'auto' && !(Number.isInteger(c.dtRank) && c.dtRank >= 1)) bad.push(`dtRank must be 'auto' or an integer >= 1, got ${JSON.stringify(c.dtRank)}`);
  if (!(c.dtMin > 0 && c.dtMax >= c.dtMin)) bad.push(`dtMin and dtMax must satisfy 0 < dtMin <= dtMax, got ${c.dtMin}, ${c.dtMax}`);
  if (c.dtInit !== 'random' && c.dtInit !== 'constant') bad.push(`dtInit must be 'random' or 'constant', got ${JSON.stringify(c.dtInit)}`);
  if (!(c.normEpsilon > 0)) bad.push(`normEpsilon must be > 0, got ${c.normEpsilon}`);
  if (c.tieEmbeddings !== true) bad.push('tieEmbeddings must be true (the head is the embedding, as MambaLMHeadModel by default)');
  if (bad.length) throw new MambaConfigError(op, bad.join('; '), []);
}

const SSM_KEYS: [keyof MambaConfig, string][] = [
  ['dState', 'd_state'],
  ['dConv', 'd_conv'],
  ['expand', 'expand'],
  ['dtRank', 'dt_rank'],
  ['dtMin', 'dt_min'],
  ['dtMax', 'dt_max'],
  ['dtInit', 'dt_init'],
  ['dtScale', 'dt_scale'],
  ['dtInitFloor', 'dt_init_floor'],
  ['convBias', 'conv_bias'],
  ['bias', 'bias'],
];

const TOP_KEYS: [keyof MambaConfig, string][] = [
  ['dModel', 'd_model'],
  ['nLayer', 'n_layer'],
  ['vocabSize', 'vocab_size'],
  ['rmsNorm', 'rms_norm'],
  ['residualInFp32', 'residual_in_fp32'],
  ['fusedAddNorm', 'fused_add_norm'],
  ['padVocabSizeMultiple', 'pad_vocab_size_multiple'],
  ['tieEmbeddings', 'tie_embeddings'],
];

/**
 * A MambaConfig from the reference config.json (`d_model`, `n_layer`, `vocab_size`, `ssm_cfg`, ...);
 * absent fields take the reference defaults. What this package does not build (attention layers,
 * an MLP after the mixer, Mamba-2 mixers) is a MambaConfigError naming the key.
 *
 *   mambaConfigFromJson({ d_model: 128, n_layer: 7, vocab_size: 65, ssm_cfg: { d_state: 16 } });
 */
export function mambaConfigFromJson(json: Record<string, unknown>, op = 'mambaConfigFromJson', where = 'config.json'): MambaConfig {
  const c: Record<string, unknown> = { ...defaultMambaConfig };
  for (const [k, j] of TOP_KEYS) if (json[j] !== undefined && json[j] !== null) c[k] = json[j];
  const ssm = (json.ssm_cfg ?? {}) as Record<string, unknown>;
  if (typeof ssm !== 'object' || Array.isArray(ssm)) throw new MambaConfigError(op, `${where}: ssm_cfg must be an object, got ${JSON.stringify(json.ssm_cfg)}`, ['ssm_cfg']);
  if (ssm.layer !== undefined && ssm.layer !== 'Mamba1') throw new MambaConfigError(op, `${where}: ssm_cfg.layer ${JSON.stringify(ssm.layer)} is not built here (only 'Mamba1')`, ['ssm_cfg.layer']);
  for (const [k, j] of SSM_KEYS) if (ssm[j] !== undefined && ssm[j] !== null) c[k] = ssm[j];
  if (json.d_intermediate !== undefined && json.d_intermediate !== 0) throw new MambaConfigError(op, `${where}: d_intermediate ${JSON.stringify(json.d_intermediate)} (an MLP after each mixer) is not built here; only 0`, ['d_intermediate']);
  const attn = json.attn_layer_idx;
  if (Array.isArray(attn) && attn.length) throw new MambaConfigError(op, `${where}: attn_layer_idx ${JSON.stringify(attn)} (attention layers) is not built here`, ['attn_layer_idx']);
  if (typeof json.norm_epsilon === 'number') c.normEpsilon = json.norm_epsilon;
  const config = c as unknown as MambaConfig;
  try {
    checkConfig(op, config);
  } catch (e) {
    if (e instanceof MambaConfigError) throw new MambaConfigError(op, `${where}: ${e.message.replace(`${op}: `, '')}`, e.keys);
    throw e;
  }
  return config;
}

/** The reference config.json of a MambaConfig (ssm_cfg holds the mixer's fields). */
export function mambaConfigToJson(c: MambaConfig): Record<string, unknown> {
  const json: Record<string, unknown> = { d_intermediate: 0 };
  for (const [k, j] of TOP_KEYS) json[j] = c[k];
  const ssm: Record<string, unknown> = { layer: 'Mamba1' };
  for (const [k, j] of SSM_KEYS) ssm[j] = c[k];
  json.ssm_cfg = ssm;
  json.attn_layer_idx = [];
  json.attn_cfg = {};
  return json;
}

/** Checks what the weights say (widths, state size, layers, vocabulary) against the config: MambaConfigError naming both. */
export function checkAgainstWeights(op: string, c: MambaConfig, tensors: Record<string, Tensor>, where: string): void {
  const { dInner, dtRank, paddedVocab } = derived(c);
  const problems: { msg: string; keys: string[] }[] = [];
  const expect = (key: string, shape: number[], fields: string[]): void => {
    const t = tensors[key];
    if (t && (t.ndim !== shape.length || t.shape.some((s, i) => s !== shape[i]))) {
      problems.push({ msg: `${fields.map((f) => `${f}`).join(', ')} give ${key} ${fmt(shape)} but the weights hold ${fmt(t.shape)}`, keys: [...fields, key] });
    }
  };
  expect('backbone.embedding.weight', [paddedVocab, c.dModel], ['vocab_size', 'pad_vocab_size_multiple', 'd_model']);
  expect('backbone.layers.0.mixer.in_proj.weight', [2 * dInner, c.dModel], ['d_model', 'ssm_cfg.expand']);
  expect('backbone.layers.0.mixer.A_log', [dInner, c.dState], ['ssm_cfg.d_state']);
  expect('backbone.layers.0.mixer.conv1d.weight', [dInner, 1, c.dConv], ['ssm_cfg.d_conv']);
  expect('backbone.layers.0.mixer.x_proj.weight', [dtRank + 2 * c.dState, dInner], ['ssm_cfg.dt_rank', 'ssm_cfg.d_state']);
  const layers = new Set(Object.keys(tensors).flatMap((k) => /^backbone\.layers\.(\d+)\./.exec(k)?.[1] ?? []));
  if (layers.size !== c.nLayer) {
    const held = [...layers].map(Number).sort((a, b) => a - b);
    problems.push({ msg: `n_layer ${c.nLayer} but the weights hold ${held.length} layers`, keys: ['n_layer', ...held.map((i) => `backbone.layers.${i}`)] });
  }
  if (problems.length) throw new MambaConfigError(op, `${where} does not match the weights: ${problems.map((p) => p.msg).join('; ')}`, problems.flatMap((p) => p.keys));
}
