/**
 * Mamba (Gu & Dao, 2023) as state-spaces/mamba's `Mamba` mixer (mamba_simple.py) and
 * `MambaLMHeadModel` (mixer_seq_simple.py): the same parameter names, initialisation and math, the
 * selective scan run by this package's fused op, and a recurrent step (a conv window and an SSM
 * state per layer) for generation in O(1) time and memory per token.
 */
import { noGrad } from '@dl/autograd';
import { DTypeError, IndexError, ShapeError, arange, cat, exp, expm1, fmt, keep, log, matmul, rand, silu, softplus, zeros, type Tensor } from '@dl/tensor';
import { Conv1d, Embedding, LayerNorm, Linear, Module, RMSNorm, crossEntropy, init, param } from '@dl/layers';
import { defaultMambaConfig, derived, type MambaConfig } from './config.js';
import { causalConv1d } from './causal-conv1d.js';
import { selectiveScan } from './selective-scan.js';

/** One layer's recurrent state: the last dConv inputs of the convolution and the SSM state. */
export interface LayerState {
  /** (batch, dInner, dConv) */
  conv: Tensor;
  /** (batch, dInner, dState) */
  ssm: Tensor;
}

/**
 * The recurrent state of a MambaLM for generation: per layer a conv window and an SSM state,
 * fixed in size whatever the length so far. Made by `MambaLM.newState(batch)`.
 */
export class MambaState {
  /** tokens consumed so far */
  length = 0;

  constructor(readonly layers: LayerState[]) {}

  get batchSize(): number {
    return this.layers[0].conv.shape[0];
  }

  /** Frees the state's tensors. */
  dispose(): void {
    for (const l of this.layers) {
      l.conv.dispose();
      l.ssm.dispose();
    }
  }
}

type MixerConfig = Pick<MambaConfig, 'dModel' | 'dState' | 'dConv' | 'expand' | 'dtRank' | 'dtMin' | 'dtMax' | 'dtInit' | 'dtScale' | 'dtInitFloor' | 'convBias' | 'bias'>;

/**
 * The Mamba mixer: in_proj to (x, z), a depthwise causal conv1d and SiLU on x, the input-dependent
 * (dt, B, C) from x_proj and dt_proj, the selective scan gated by silu(z), out_proj.
 *
 *   const mixer = new Mamba({ ...defaultMambaConfig, dModel: 64 });
 *   mixer.forward(x); // (batch, L, 64) -> (batch, L, 64)
 */
export class Mamba extends Module {
  inProj: Linear;
  conv1d: Conv1d;
  xProj: Linear;
  dtProj: Linear;
  /** (dInner, dState); A = -exp(A_log) */
  ALog: Tensor;
  /** (dInner); the skip connection */
  D: Tensor;
  outProj: Linear;
  readonly dModel: number;
  readonly dInner: number;
  readonly dtRank: number;
  readonly dState: number;
  readonly dConv: number;

  constructor(config: Partial<MixerConfig> = {}, { device }: { device?: string } = {}) {
    super();
    const c = { ...defaultMambaConfig, ...config };
    const { dInner, dtRank } = derived(c);
    this.dModel = c.dModel;
    this.dInner = dInner;
    this.dtRank = dtRank;
    this.dState = c.dState;
    this.dConv = c.dConv;
    this.inProj = new Linear(c.dModel, 2 * dInner, { bias: c.bias, device });
    this.conv1d = new Conv1d(dInner, dInner, c.dConv, { groups: dInner, padding: c.dConv - 1, bias: c.convBias, device });
    this.xProj = new Linear(dInner, dtRank + 2 * c.dState, { bias: false, device });
    this.dtProj = new Linear(dtRank, dInner, { bias: true, device });
    // dt_proj.weight ~ U(-s, s) (or s), so that dt_proj keeps the variance of its input
    const s = dtRank ** -0.5 * c.dtScale;
    if (c.dtInit === 'constant') init.constant(this.dtProj.weight, s);
    else init.uniform(this.dtProj.weight, -s, s);
    // dt_proj.bias = softplus^-1(dt) for dt log-uniform in [dtMin, dtMax]: softplus(bias) starts there
    noGrad(() => {
      const lo = Math.log(c.dtMin);
      const dt = exp(rand([dInner], { device }).mul(Math.log(c.dtMax) - lo).add(lo)).clamp(c.dtInitFloor); // (dInner)
      this.dtProj.bias!.copy_(dt.add(log(expm1(dt.neg()).neg())));
    });
    // S4D-real: A[d, n] = -(n + 1)
    this.ALog = param(log(arange(1, c.dState + 1, 1, { device }).reshape([1, c.dState]).expand([dInner, c.dState]).contiguous()));
    this.D = param(zeros([dInner], { device }).add(1));
    this.outProj = new Linear(dInner, c.dModel, { bias: c.bias, device });
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [
      ['in_proj', this.inProj],
      ['conv1d', this.conv1d],
      ['x_proj', this.xProj],
      ['dt_proj', this.dtProj],
      ['A_log', this.ALog],
      ['D', this.D],
      ['out_proj', this.outProj],
    ];
  }

  /** hidden (batch, L, dModel) -> (batch, L, dModel); with `state`, also fills it with the state after the last step. */
  forward(hidden: Tensor, state?: LayerState): Tensor {
    this.checkInput(hidden, [null, null, this.dModel], ['batch', 'L', 'dModel']);
    const [, L] = hidden.shape;
    const { dInner, dtRank, dState: N, dConv } = this;
    const xz = this.inProj.forward(hidden).transpose(1, 2); // (batch, 2 dInner, L)
    const xIn = xz.narrow(1, 0, dInner); // (batch, dInner, L)
    const z = xz.narrow(1, dInner, dInner); // (batch, dInner, L)
    // as the reference, which takes the fused causal_conv1d kernel where it is installed: here the
    // fused op on WebGPU (one dispatch forward instead of several), Conv1d + SiLU on the CPU (whose
    // SIMD conv and silu kernels beat the fused op's TypeScript loops about 2x)
    const x = xIn.device === 'cpu' ? silu(this.conv1d.forward(xIn).narrow(2, 0, L).contiguous()) : causalConv1d(xIn, this.conv1d.weight, this.conv1d.bias, { activation: 'silu' }); // (batch, dInner, L)
    const xDbl = this.xProj.forward(x.transpose(1, 2)); // (batch, L, dtRank + 2N)
    const dt = matmul(xDbl.narrow(2, 0, dtRank), this.dtProj.weight.T).transpose(1, 2); // (batch, dInner, L); the bias goes in the scan
    const B = xDbl.narrow(2, dtRank, N).transpose(1, 2); // (batch, N, L)
    const C = xDbl.narrow(2, dtRank + N, N).transpose(1, 2); // (batch, N, L)
    const A = exp(this.ALog).neg(); // (dInner, N)
    const opts = { z, deltaBias: this.dtProj.bias, deltaSoftplus: true } as const;
    let y: Tensor; // (batch, dInner, L)
    if (state) {
      const r = selectiveScan(x, dt, A, B, C, this.D, { ...opts, returnLastState: true });
      y = r.y;
      // the last dConv inputs, zeros before the start
      const window = L >= dConv ? xIn.narrow(2, L - dConv, dConv) : cat([zeros([xIn.shape[0], dInner, dConv - L], { dtype: xIn.dtype, device: xIn.device }), xIn], 2);
      replace(state, window.contiguous(), r.lastState.contiguous());
    } else y = selectiveScan(x, dt, A, B, C, this.D, opts);
    return this.outProj.forward(y.transpose(1, 2)); // (batch, L, dModel)
  }

  /** One token: hidden (batch, dModel) -> (batch, dModel), advancing `state` (the recurrent form of forward). */
  step(hidden: Tensor, state: LayerState): Tensor {
    this.checkInput(hidden, [null, this.dModel], ['batch', 'dModel']);
    const { dInner, dtRank, dState: N, dConv } = this;
    const xz = this.inProj.forward(hidden); // (batch, 2 dInner)
    const xIn = xz.narrow(1, 0, dInner); // (batch, dInner)
    const z = xz.narrow(1, dInner, dInner); // (batch, dInner)
    const conv = cat([state.conv.narrow(2, 1, dConv - 1), xIn.unsqueeze(2)], 2); // (batch, dInner, dConv)
    let x = conv.mul(this.conv1d.weight.squeeze(1)).sum(2); // (batch, dInner)
    if (this.conv1d.bias) x = x.add(this.conv1d.bias);
    x = silu(x);
    const xDbl = this.xProj.forward(x); // (batch, dtRank + 2N)
    const dt = softplus(matmul(xDbl.narrow(1, 0, dtRank), this.dtProj.weight.T).add(this.dtProj.bias!)); // (batch, dInner)
    const B = xDbl.narrow(1, dtRank, N); // (batch, N)
    const C = xDbl.narrow(1, dtRank + N, N); // (batch, N)
    const dA = exp(dt.unsqueeze(2).mul(exp(this.ALog).neg())); // (batch, dInner, N)
    const ssm = state.ssm.mul(dA).add(dt.mul(x).unsqueeze(2).mul(B.unsqueeze(1))); // (batch, dInner, N)
    const y = ssm.mul(C.unsqueeze(1)).sum(2).add(x.mul(this.D)).mul(silu(z)); // (batch, dInner)
    replace(state, conv, ssm);
    return this.outProj.forward(y); // (batch, dModel)
  }

  protected override extraRepr(): string {
    return `dModel=${this.dModel}, dInner=${this.dInner}, dState=${this.dState}, dConv=${this.dConv}, dtRank=${this.dtRank}`;
  }
}

/** Puts a layer's new conv window and SSM state in place (kept out of any scope), freeing the old ones. */
function replace(state: LayerState, conv: Tensor, ssm: Tensor): void {
  const old = [state.conv, state.ssm];
  state.conv = keep(conv);
  state.ssm = keep(ssm);
  for (const t of old) if (t !== conv && t !== ssm) t.dispose();
}

/**
 * A residual block as the reference's `Block`: the residual stream adds the previous mixer's
 * output, then the norm feeds this block's mixer. Returns (hidden, residual).
 *
 *   const [h, r] = block.forward(hidden, residual); // residual null in the first block
 */
export class Block extends Module {
  mixer: Mamba;
  norm: RMSNorm | LayerNorm;

  constructor(config: MambaConfig, { device }: { device?: string } = {}) {
    super();
    this.mixer = new Mamba(config, { device });
    this.norm = config.rmsNorm ? new RMSNorm(config.dModel, { eps: config.normEpsilon, device }) : new LayerNorm(config.dModel, { eps: config.normEpsilon, device });
  }

  forward(hidden: Tensor, residual: Tensor | null, state?: LayerState): [Tensor, Tensor] {
    const r = residual ? hidden.add(residual) : hidden; // (batch, L, dModel)
    return [this.mixer.forward(this.norm.forward(r), state), r];
  }

  /** One token (batch, dModel) through the recurrent form. */
  step(hidden: Tensor, residual: Tensor | null, state: LayerState): [Tensor, Tensor] {
    const r = residual ? hidden.add(residual) : hidden; // (batch, dModel)
    return [this.mixer.step(this.norm.forward(r), state), r];
  }
}

/** The reference's `MixerModel` (`backbone`): embedding, blocks, norm_f. */
export class MixerModel extends Module {
  embedding: Embedding;
  layers: Block[];
  normF: RMSNorm | LayerNorm;

  constructor(config: MambaConfig, { device }: { device?: string } = {}) {
    super();
    const { paddedVocab } = derived(config);
    this.embedding = new Embedding(paddedVocab, config.dModel, { device });
    this.layers = Array.from({ length: config.nLayer }, () => new Block(config, { device }));
    this.normF = config.rmsNorm ? new RMSNorm(config.dModel, { eps: config.normEpsilon, device }) : new LayerNorm(config.dModel, { eps: config.normEpsilon, device });
  }

  protected override entries(): Iterable<[string, unknown]> {
    return [['embedding', this.embedding], ['layers', this.layers], ['norm_f', this.normF]];
  }

  /** ids (batch, L) -> hidden states (batch, L, dModel); with `state`, fills every layer's state. */
  forward(ids: Tensor, state?: MambaState): Tensor {
    let hidden = this.embedding.forward(ids); // (batch, L, dModel)
    let residual: Tensor | null = null;
    this.layers.forEach((layer, i) => {
      [hidden, residual] = layer.forward(hidden, residual, state?.layers[i]);
    });
    return this.normF.forward(hidden.add(residual!)); // (batch, L, dModel)
  }

  /** One token per row: ids (batch) -> (batch, dModel). */
  step(ids: Tensor, state: MambaState): Tensor {
    let hidden = this.embedding.forward(ids); // (batch, dModel)
    let residual: Tensor | null = null;
    this.layers.forEach((layer, i) => {
      [hidden, residual] = layer.step(hidden, residual, state.layers[i]);
    });
    return this.normF.forward(hidden.add(residual!)); // (batch, dModel)
  }
}

/**
 * Initialises as the reference's `_init_weights`: Linear biases zero (not dt_proj's), embedding
 * N(0, 0.02), out_proj.weight kaiming-uniform divided by sqrt(nLayer) (GPT-2's rescaling of the
 * residual branches).
 */
export function initMambaWeights(backbone: MixerModel, nLayer: number): void {
  noGrad(() => {
    for (const block of backbone.layers) {
      const m = block.mixer;
      for (const lin of [m.inProj, m.xProj, m.outProj]) if (lin.bias) init.zeros(lin.bias);
      init.kaimingUniform(m.outProj.weight, { a: Math.sqrt(5) });
      m.outProj.weight.copy_(m.outProj.weight.div(Math.sqrt(nLayer)));
    }
    init.normal(backbone.embedding.weight, 0, 0.02);
  });
}

/** Checks token ids: int32 (batch, L), every id in the vocabulary (when readable now). */
export function checkIds(op: string, arg: string, ids: Tensor, vocab: number): void {
  if (ids.dtype !== 'int32') throw new DTypeError(op, `${arg} must be int32 token ids, got ${ids.dtype} ${fmt(ids.shape)}`);
  if (ids.ndim !== 2 || ids.shape[1] === 0) throw new ShapeError(op, `${arg} must be (batch, L) with L >= 1, got ${fmt(ids.shape)}`);
  if (ids.device !== 'cpu') return;
  const d = ids.dataSync();
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0 || d[i] >= vocab) throw new IndexError(op, `token id ${d[i]} at ${fmt([Math.floor(i / ids.shape[1]), i % ids.shape[1]])} of ${arg} ${fmt(ids.shape)} is outside the vocabulary [0, ${vocab})`);
  }
}


