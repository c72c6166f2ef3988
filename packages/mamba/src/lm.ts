/**
 * MambaLM: the reference's `MambaLMHeadModel` — a MixerModel backbone and a head tied to the
 * embedding — with recurrent generation and the reference checkpoint folder (config.json +
 * model.safetensors).
 */
import { noGrad } from '@dl/autograd';
import { DLError, Generator, IndexError, ShapeError, fmt, generator as globalGenerator, rand, scope, tensor, zeros, type Tensor } from '@dl/tensor';
import { Linear, Module, checkSampling, crossEntropy, parseSafetensors, sampleLogits, serializeSafetensors, writeFileAtomic, type ParamGroupInput, type SamplingOptions } from '@dl/layers';
import { MambaConfigError, checkAgainstWeights, checkConfig, defaultMambaConfig, derived, mambaConfigFromJson, mambaConfigToJson, type MambaConfig } from './config.js';
import { MambaState, MixerModel, checkIds, initMambaWeights } from './mamba.js';

export interface MambaGenerateOptions extends SamplingOptions {
  /** tokens to add to each row */
  maxNewTokens: number;
  /** token ids that end a row (kept in the output); generation ends when every row has ended */
  stop?: number | readonly number[];
  /** what an ended row gets for the rest of the steps (default: the stop token that ended it) */
  padTokenId?: number;
  /** seed of a Generator of its own for this call (sampling only) */
  seed?: number;
  /** where the sampling's random numbers come from (default: the global generator, or `seed`) */
  generator?: Generator;
  /** called with each step's tokens (one per row) as soon as they are picked */
  onToken?: (tokens: number[], step: number) => void;
}

/** Token ids as rows: a Tensor (batch, L) int32, one row number[], or rows number[][]. */
export type TokenInput = Tensor | readonly number[] | readonly (readonly number[])[];

/**
 * The Mamba language model: token ids (batch, L) -> next-token logits (batch, L, vocab), the head
 * tied to the embedding. Parameter names as state-spaces/mamba's MambaLMHeadModel
 * (`backbone.layers.0.mixer.in_proj.weight`, `backbone.norm_f.weight`, `lm_head.weight`).
 *
 *   const model = new MambaLM({ dModel: 128, nLayer: 7, vocabSize: 65 });
 *   const logits = model.forward(ids); // (batch, L, 72): the vocabulary padded to a multiple of 8
 *   const { loss } = model.forward(ids, targets);
 *   const out = await model.generate([[0]], { maxNewTokens: 100, temperature: 0.8, topK: 10 });
 */
export class MambaLM extends Module {
  backbone: MixerModel;
  lmHead: Linear;
  readonly config: Readonly<MambaConfig>;

  constructor(config: Partial<MambaConfig> = {}, { device }: { device?: string } = {}) {
    super();
    const c: MambaConfig = { ...defaultMambaConfig, ...config };
    checkConfig('MambaLM', c);
    this.config = Object.freeze(c);
    const { paddedVocab } = derived(c);
    this.backbone = new MixerModel(c, { device });
    initMambaWeights(this.backbone, c.nLayer);
    this.lmHead = new Linear(c.dModel, paddedVocab, { bias: false, device });
    this.lmHead.weight = this.backbone.embedding.weight;
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['backbone', this.backbone], ['lm_head', this.lmHead]];
  }

  /** The padded vocabulary: the logits' last dimension. */
  get paddedVocabSize(): number {
    return derived(this.config).paddedVocab;
  }

  forward(ids: Tensor): Tensor;
  forward(ids: Tensor, targets: Tensor): { logits: Tensor; loss: Tensor };
  forward(ids: Tensor, targets?: Tensor): Tensor | { logits: Tensor; loss: Tensor } {
    checkIds(this.label(), 'ids', ids, this.config.vocabSize);
    const [B, L] = ids.shape;
    const logits = this.lmHead.forward(this.backbone.forward(ids)); // (batch, L, paddedVocab)
    if (!targets) return logits;
    if (targets.dtype !== 'int32' || targets.ndim !== 2 || targets.shape[0] !== B || targets.shape[1] !== L) {
      throw new ShapeError(this.label(), `targets must be int32 [${B},${L}] like ids, got ${targets.dtype} ${fmt(targets.shape)}`);
    }
    const V = this.paddedVocabSize;
    const loss = crossEntropy(logits.reshape([B * L, V]), targets.reshape([B * L]), { ignoreIndex: -1 });
    return { logits, loss };
  }

  /**
   * AdamW parameter groups: weight decay on the matrices (projections, the embedding, the conv
   * kernels), none on biases, norms, D and A_log (the reference marks A_log and D `_no_weight_decay`).
   *
   *   const opt = new AdamW(model.paramGroups(0.1), { lr: 1e-3 });
   */
  paramGroups(weightDecay: number): ParamGroupInput<{ weightDecay: number }>[] {
    const noDecay = new Set<Tensor>(this.backbone.layers.map((l) => l.mixer.ALog));
    const params = this.parameters();
    const decay = (p: Tensor): boolean => p.ndim >= 2 && !noDecay.has(p);
    return [
      { params: params.filter(decay), weightDecay },
      { params: params.filter((p) => !decay(p)), weightDecay: 0 },
    ];
  }

  /** A zero recurrent state for `batchSize` rows, on the model's device. */
  newState(batchSize: number): MambaState {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new DLError('MambaLM.newState', `batchSize must be a positive integer, got ${batchSize}`);
    const w = this.backbone.embedding.weight;
    const o = { dtype: w.dtype, device: w.device };
    return new MambaState(
      this.backbone.layers.map((l) => ({ conv: zeros([batchSize, l.mixer.dInner, l.mixer.dConv], o), ssm: zeros([batchSize, l.mixer.dInner, l.mixer.dState], o) })),
    );
  }

  /**
   * Runs ids (batch, L) after the tokens the state has seen and returns the last position's
   * logits (batch, paddedVocab); the state then holds these tokens too. A fresh state takes the
   * whole prompt through the fused scan at once; after that, each token is one recurrent step,
   * whose cost does not grow with the length. No gradients.
   *
   *   const state = model.newState(1);
   *   model.forwardRecurrent(prompt, state); // the prompt at once
   *   model.forwardRecurrent(tensor([[token]], { dtype: 'int32' }), state); // one step
   */
  forwardRecurrent(ids: Tensor, state: MambaState): Tensor {
    const op = `${this.label()}.forwardRecurrent`;
    checkIds(op, 'ids', ids, this.config.vocabSize);
    if (state.batchSize !== ids.shape[0] || state.layers.length !== this.config.nLayer) {
      throw new ShapeError(op, `the state holds ${state.batchSize} rows for ${state.layers.length} layers; ids ${fmt(ids.shape)} needs ${ids.shape[0]} rows for ${this.config.nLayer} layers`);
    }
    return noGrad(() =>
      scope(() => {
        const L = ids.shape[1];
        let h: Tensor; // (batch, dModel)
        if (state.length === 0) {
          h = this.backbone.forward(ids, state).narrow(1, L - 1, 1).squeeze(1);
        } else {
          h = this.backbone.step(ids.narrow(1, 0, 1).squeeze(1), state);
          for (let t = 1; t < L; t++) h = this.backbone.step(ids.narrow(1, t, 1).squeeze(1), state);
        }
        state.length += L;
        return this.lmHead.forward(h); // (batch, paddedVocab)
      }),
    );
  }

  /**
   * Completes each row of ids maxNewTokens times, sampling from the logits of the real (unpadded)
   * vocabulary with the options of @dl/transformer's generate; resolves to (batch, L + new)
   * int32. The prompt runs through the fused scan once, then each token is one recurrent step.
   *
   *   const out = await model.generate(tok.encode('Call me'), { maxNewTokens: 50, temperature: 0.8, topK: 20, seed: 1 });
   */
  async generate(ids: TokenInput, opts: MambaGenerateOptions): Promise<Tensor> {
    const op = `${this.label()}.generate`;
    const { maxNewTokens } = opts;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new DLError(op, `maxNewTokens must be an integer >= 0, got ${maxNewTokens}`);
    checkSampling(op, opts);
    const V = this.config.vocabSize;
    const rows = await toRows(op, ids);
    if (rows.length === 0 || rows[0].length === 0) throw new ShapeError(op, `ids needs at least one row of at least one token, got ${rows.length} rows of ${rows[0]?.length ?? 0}`);
    const stop = new Set(opts.stop === undefined ? [] : typeof opts.stop === 'number' ? [opts.stop] : opts.stop);
    for (const s of [...stop, ...(opts.padTokenId === undefined ? [] : [opts.padTokenId])]) {
      if (!Number.isInteger(s) || s < 0 || s >= V) throw new IndexError(op, `stop and padTokenId must be token ids in [0, ${V}), got ${s}`);
    }
    const rng = opts.generator ?? (opts.seed !== undefined ? new Generator(opts.seed) : globalGenerator);
    const batch = rows.length;
    const device = this.backbone.embedding.weight.device;
    const Vp = this.paddedVocabSize;
    const ended: (number | null)[] = rows.map(() => null);
    const wasTraining = this.training;
    this.eval();
    const state = this.newState(batch);
    try {
      let input = tensor(Int32Array.from(rows.flat()), { shape: [batch, rows[0].length], device });
      for (let step = 0; step < maxNewTokens; step++) {
        const logits = this.forwardRecurrent(input, state); // (batch, paddedVocab)
        const data = await logits.data();
        logits.dispose();
        const u = opts.temperature === 0 ? null : rand([batch], { generator: rng, dtype: 'float64', device: 'cpu' }).dataSync();
        const next = rows.map((_, b) => {
          const done = ended[b];
          if (done !== null) return opts.padTokenId ?? done;
          const t = sampleLogits(data.subarray(b * Vp, b * Vp + V), opts, u ? u[b] : 0); // the padding tokens are never sampled
          if (stop.has(t)) ended[b] = t;
          return t;
        });
        next.forEach((t, b) => rows[b].push(t));
        opts.onToken?.(next, step);
        if (ended.every((e) => e !== null)) break;
        input = tensor(Int32Array.from(next), { shape: [batch, 1], device });
      }
    } finally {
      state.dispose();
      this.train(wasTraining);
    }
    return tensor(Int32Array.from(rows.flat()), { shape: [batch, rows[0].length] });
  }

  /**
   * Reads the reference folder (config.json as MambaConfig writes it, model.safetensors with
   * MambaLMHeadModel's names; `lm_head.weight` may be left out, it is the embedding) into a model
   * in eval mode. A config that does not match the weights is a MambaConfigError naming both;
   * missing or unexpected tensors a StateDictError naming them.
   *
   *   const model = await MambaLM.fromPretrained('runs/mamba-char');
   */
  static async fromPretrained(dir: string, { device }: { device?: string } = {}): Promise<MambaLM> {
    const op = 'MambaLM.fromPretrained';
    const fs = await import('node:fs/promises');
    const read = async (name: string): Promise<Buffer> => {
      try {
        return await fs.readFile(`${dir}/${name}`);
      } catch (e) {
        throw new MambaConfigError(op, `cannot read ${dir}/${name}: ${(e as Error).message}`, [name]);
      }
    };
    let json: unknown;
    try {
      json = JSON.parse((await read('config.json')).toString('utf8'));
    } catch (e) {
      if (e instanceof MambaConfigError) throw e;
      throw new MambaConfigError(op, `${dir}/config.json is not JSON: ${(e as Error).message}`, ['config.json']);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new MambaConfigError(op, `${dir}/config.json must hold a JSON object`, ['config.json']);
    return MambaLM.fromFiles(json as Record<string, unknown>, new Uint8Array(await read('model.safetensors')), { device, where: `${dir}/config.json` });
  }

  /**
   * fromPretrained from the two files' contents (a browser fetches them): the parsed config.json
   * and the bytes of model.safetensors.
   *
   *   MambaLM.fromFiles(await (await fetch('m/config.json')).json(), new Uint8Array(await (await fetch('m/model.safetensors')).arrayBuffer()));
   */
  static fromFiles(configJson: Record<string, unknown>, safetensors: Uint8Array, { device, where = 'config.json' }: { device?: string; where?: string } = {}): MambaLM {
    const op = 'MambaLM.fromPretrained';
    const config = mambaConfigFromJson(configJson, op, where);
    const tensors = { ...parseSafetensors(safetensors).tensors };
    checkAgainstWeights(op, config, tensors, where);
    const model = new MambaLM(config, { device: 'cpu' });
    tensors['lm_head.weight'] ??= tensors['backbone.embedding.weight'];
    model.loadStateDict(tensors, { strict: true });
    if (device && device !== 'cpu') model.to(device);
    return model.eval();
  }

  /**
   * Writes config.json (the reference's MambaConfig fields) and model.safetensors (the tied
   * `lm_head.weight` left out, as safetensors stores no shared tensors) atomically.
   *
   *   await model.savePretrained('runs/mamba-char');
   */
  async savePretrained(dir: string): Promise<void> {
    const fs = await import('node:fs/promises');
    await fs.mkdir(dir, { recursive: true });
    const sd = { ...this.stateDict() };
    delete sd['lm_head.weight'];
    await writeFileAtomic(`${dir}/config.json`, new TextEncoder().encode(`${JSON.stringify(mambaConfigToJson(this.config), null, 2)}\n`));
    await writeFileAtomic(`${dir}/model.safetensors`, await serializeSafetensors(sd));
  }

  protected override extraRepr(): string {
    const { dModel, nLayer, vocabSize, dState } = this.config;
    return `dModel=${dModel}, nLayer=${nLayer}, vocabSize=${vocabSize}, dState=${dState}`;
  }
}

/** Token rows from any TokenInput (a Tensor is read, on any device). */
async function toRows(op: string, ids: TokenInput): Promise<number[][]> {
  if (Array.isArray(ids) && (ids.length === 0 || typeof ids[0] === 'number')) return [[...(ids as number[])]];
  if (Array.isArray(ids)) {
    const rows = (ids as number[][]).map((r) => [...r]);
    if (rows.some((r) => r.length !== rows[0].length)) throw new ShapeError(op, `rows of ids must have one length, got ${rows.map((r) => r.length).join(', ')}`);
    return rows;
  }
  const t = ids as Tensor;
  if (t.dtype !== 'int32' || t.ndim !== 2) throw new ShapeError(op, `ids must be int32 (batch, L), got ${t.dtype} ${fmt(t.shape)}`);
  const d = await t.data();
  const [B, L] = t.shape;
  return Array.from({ length: B }, (_, b) => Array.from(d.subarray(b * L, (b + 1) * L)));
}
