import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '@dl/autograd';
import { AdamW, CosineWithWarmup, EMA, crossEntropy, saveCheckpoint } from '@dl/layers';
import { Generator, manualSeed, randint, scope, tensor, type Tensor } from '@dl/tensor';
import { BertForMaskedLM, BertTokenizer, maskTokens, trainWordPiece, type BertConfig } from '@dl/bert';
import { englishText } from './english-text.js';
import { lossCurvePng } from './plots.js';
import { ProgressBar, duration } from './progress.js';
import { optimizerStep, resumeStepRun, updateStepBar } from './train-step.js';

/**
 * `dl train bert-mlm`: a small BERT (@dl/bert) pretrained with the masked-language-model objective
 * of the paper on Moby-Dick and the State of the Union addresses, with a WordPiece vocabulary
 * trained on the same text, judged by masked-token accuracy and perplexity on held-out text.
 */
export interface BertMlmOptions {
  /** optimizer steps (the cosine decay ends here) */
  steps: number;
  /** windows per step */
  batchSize: number;
  /** tokens per window, [CLS] and [SEP] included (also the model's maxPositionEmbeddings) */
  seqLen: number;
  layers: number;
  heads: number;
  /** hiddenSize; the feed-forward layer is 4 times as wide */
  width: number;
  /** dropout on hidden states and attention weights while pretraining */
  dropout: number;
  /** WordPiece vocabulary size, special tokens included */
  vocabSize: number;
  lr: number;
  warmup: number;
  /** AdamW's decoupled weight decay on matrices and embeddings (none on biases and LayerNorms) */
  weightDecay: number;
  /** largest gradient norm (0 = no clipping) */
  gradClip: number;
  /** the chance that a token (a word, with wholeWord) is chosen for prediction */
  mlmProbability: number;
  /** choose whole words (all their pieces together) */
  wholeWord: boolean;
  /** steps between held-out estimates and checkpoints */
  evalInterval: number;
  device: string;
  out: string;
  resume: boolean;
  seed: number;
  /** only the first N characters of each text (quick checks) */
  limit?: number;
}

/** 4 layers, 4 heads, 128 wide, windows of 128 tokens, 8,000 WordPiece tokens (see the README for the choice). */
export const BERT_MLM_DEFAULTS: BertMlmOptions = {
  steps: 900,
  batchSize: 16,
  seqLen: 128,
  layers: 4,
  heads: 4,
  width: 128,
  dropout: 0,
  vocabSize: 8000,
  lr: 1e-3,
  warmup: 90,
  weightDecay: 0.01,
  gradClip: 1,
  mlmProbability: 0.15,
  wholeWord: false,
  evalInterval: 150,
  device: 'cpu',
  out: 'runs/bert-mlm',
  resume: false,
  seed: 0,
};

/** The held-out windows are masked with their own fixed seed, so every run is scored on the same positions. */
const HELD_OUT_MASK_SEED = 1234;
/** Every 8th held-out window goes into the estimates printed while training. */
const ESTIMATE_STRIDE = 8;

/** The corpus as WordPiece ids: one training stream, and the held-out text in windows. */
export interface MlmCorpus {
  tokenizer: BertTokenizer;
  /** the training parts of both texts, tokenized, each followed by [SEP] */
  train: Int32Array;
  /** each held-out part cut into windows of seqLen - 2 tokens (the last, shorter one left out) */
  heldOut: { name: string; windows: Int32Array[] }[];
  /** characters per text: train and held out */
  sizes: { name: string; train: number; heldOut: number }[];
}

/** The ids of a text's WordPiece tokens. */
function ids(tok: BertTokenizer, text: string): Int32Array {
  return Int32Array.from(tok.convertTokensToIds(tok.tokenize(text)) as number[]);
}

/**
 * Trains the WordPiece vocabulary on the training parts only (the held-out text has no say in it)
 * and tokenizes both parts. Deterministic: the same arguments give the same ids.
 *
 *   const { tokenizer, train, heldOut } = loadMlmCorpus(8000, 128); // 2.34 M training tokens, 1,109 held-out windows
 */
export function loadMlmCorpus(vocabSize: number, seqLen: number, limit?: number): MlmCorpus {
  const parts = englishText(limit);
  const tokenizer = new BertTokenizer(trainWordPiece(parts.map((p) => p.train), vocabSize));
  const streams = parts.map((p) => ids(tokenizer, p.train));
  const train = new Int32Array(streams.reduce((n, s) => n + s.length + 1, 0));
  let at = 0;
  for (const s of streams) {
    train.set(s, at);
    train[at + s.length] = tokenizer.sepTokenId;
    at += s.length + 1;
  }
  const w = seqLen - 2;
  const heldOut = parts.map((p) => {
    const all = ids(tokenizer, p.heldOut);
    const windows: Int32Array[] = [];
    for (let i = 0; i + w <= all.length; i += w) windows.push(all.subarray(i, i + w));
    return { name: p.name, windows };
  });
  return { tokenizer, train, heldOut, sizes: parts.map((p) => ({ name: p.name, train: p.train.length, heldOut: p.heldOut.length })) };
}

/** `[CLS] window [SEP]` for each window, as rows of one (B, seqLen) array. */
function withSpecials(windows: readonly Int32Array[], tok: BertTokenizer): Int32Array {
  const T = windows[0].length + 2;
  const out = new Int32Array(windows.length * T);
  windows.forEach((w, b) => {
    out[b * T] = tok.clsTokenId;
    out.set(w, b * T + 1);
    out[b * T + T - 1] = tok.sepTokenId;
  });
  return out;
}

/**
 * `batchSize` windows of `seqLen - 2` tokens at random offsets of the stream, as `[CLS] ... [SEP]`
 * rows (B, seqLen): full rows, so no padding and no attention mask.
 */
export function sampleWindows(stream: Int32Array, batchSize: number, seqLen: number, tok: BertTokenizer, generator: Generator): Int32Array {
  const w = seqLen - 2;
  if (stream.length <= w) throw new Error(`the training text (${stream.length} tokens) must be longer than a window of ${w} tokens (--seq-len ${seqLen} - 2)`);
  const offsets = randint(0, stream.length - w + 1, [batchSize], { generator }).dataSync();
  return withSpecials(Array.from(offsets, (o) => stream.subarray(o, o + w)), tok);
}

/** What maskTokens made for a batch, with the chosen positions listed for the head. */
export interface MaskedBatch {
  /** (B, T) inputs, chosen positions corrupted */
  inputIds: Int32Array;
  /** flat indices b * T + t of the chosen positions */
  positions: Int32Array;
  /** the original ids there */
  targets: Int32Array;
}

/** BERT's masking of `rows` (B, T) at `o.mlmProbability`, 80% [MASK] / 10% random / 10% kept; draws again if nothing was chosen. */
export function maskBatch(rows: Int32Array, shape: [number, number], tok: BertTokenizer, o: { mlmProbability: number; wholeWord: boolean }, generator: Generator): MaskedBatch {
  for (;;) {
    const ids = tensor(rows, { shape, dtype: 'int32' });
    const { inputIds, labels } = maskTokens(ids, {
      maskTokenId: tok.maskTokenId,
      vocabSize: tok.vocabSize,
      specialIds: tok.allSpecialIds,
      mlmProbability: o.mlmProbability,
      wholeWordMask: o.wholeWord,
      wordIds: o.wholeWord ? tok.wordIds(rows) : undefined,
      generator,
    });
    const l = labels.dataSync() as Int32Array;
    const positions: number[] = [];
    l.forEach((v, i) => v !== -100 && positions.push(i));
    const out = { inputIds: Int32Array.from(inputIds.dataSync() as Int32Array), positions: Int32Array.from(positions), targets: Int32Array.from(positions, (i) => l[i]) };
    ids.dispose();
    inputIds.dispose();
    labels.dispose();
    if (positions.length) return out;
  }
}

/**
 * Vocabulary logits (N, V) at the N chosen positions only: the encoder runs on every token, the
 * MLM head (transform + tied decoder) on the chosen ones. Its mean cross-entropy is the loss
 * BertForMaskedLM.forward gives with labels (-100 elsewhere), for about 15% of the head's work.
 */
export function maskedLogits(model: BertForMaskedLM, batch: MaskedBatch, shape: [number, number], device: string): Tensor {
  const [B, T] = shape;
  const H = model.config.hiddenSize;
  const { lastHiddenState } = model.bert.forward(tensor(batch.inputIds, { shape, dtype: 'int32', device })); // (B, T, H)
  const chosen = lastHiddenState.reshape([B * T, H]).indexSelect(0, tensor(batch.positions, { dtype: 'int32', device })); // (N, H)
  return model.cls.forward(chosen); // (N, V)
}

/** Masked-token accuracy, mean cross-entropy (nats) and perplexity exp(loss) over the held-out positions. */
export interface MlmScore {
  accuracy: number;
  loss: number;
  perplexity: number;
  /** positions scored */
  masked: number;
}

/**
 * Scores the model on held-out windows, 32 at a time, each masked once with HELD_OUT_MASK_SEED (the
 * same positions and corruptions for every model and run): the share of chosen positions where the
 * most likely token is the original one, and the perplexity of the original tokens there.
 */
export async function evaluateMlm(model: BertForMaskedLM, windows: readonly Int32Array[], tok: BertTokenizer, o: Pick<BertMlmOptions, 'mlmProbability' | 'wholeWord' | 'device'>): Promise<MlmScore> {
  if (!windows.length) throw new Error('the held-out text is shorter than one window; use a smaller --seq-len or a larger --limit');
  const generator = new Generator(HELD_OUT_MASK_SEED);
  const wasTraining = model.training;
  model.eval();
  let [lossSum, correct, masked] = [0, 0, 0];
  for (let i = 0; i < windows.length; i += 32) {
    const rows = windows.slice(i, i + 32);
    const shape: [number, number] = [rows.length, rows[0].length + 2];
    const batch = maskBatch(withSpecials(rows, tok), shape, tok, o, generator);
    const [sum, hits] = noGrad(() =>
      scope(() => {
        const logits = maskedLogits(model, batch, shape, o.device);
        const targets = tensor(batch.targets, { dtype: 'int32', device: o.device });
        return [crossEntropy(logits, targets, { reduction: 'sum' }), logits.argmax(1).eq(targets).sum()];
      }),
    );
    lossSum += (await sum.data())[0];
    correct += (await hits.data())[0];
    masked += batch.positions.length;
    sum.dispose();
    hits.dispose();
  }
  model.train(wasTraining);
  const loss = lossSum / masked;
  return { accuracy: correct / masked, loss, perplexity: Math.exp(loss), masked };
}

/** The model of a run: BERT's layout at this size, the feed-forward 4 times the width, positions up to seqLen. */
export function bertMlmConfig(o: Pick<BertMlmOptions, 'layers' | 'heads' | 'width' | 'seqLen' | 'dropout'>, vocabSize: number): Partial<BertConfig> {
  return {
    vocabSize,
    hiddenSize: o.width,
    numHiddenLayers: o.layers,
    numAttentionHeads: o.heads,
    intermediateSize: 4 * o.width,
    maxPositionEmbeddings: o.seqLen,
    hiddenDropoutProb: o.dropout,
    attentionProbsDropoutProb: o.dropout,
  };
}

/** AdamW groups as BERT's optimizer: weight decay on matrices and embeddings, none on biases and LayerNorms. */
function paramGroups(model: BertForMaskedLM, weightDecay: number) {
  const params = model.parameters();
  return [
    { params: params.filter((p) => p.ndim >= 2), weightDecay },
    { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
  ];
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/**
 * Pretrains the model: every evalInterval steps prints a held-out estimate (every 8th window) and
 * writes checkpoint.safetensors (atomic; `resume` continues from it); at the end scores all the
 * held-out windows and writes loss.png and the Hugging Face folder (config.json,
 * model.safetensors, vocab.txt, tokenizer_config.json) into `out`. Returns the final score.
 */
export async function trainBertMlm(o: BertMlmOptions, log: (s: string) => void): Promise<MlmScore> {
  const t0 = performance.now();
  const n = (x: number) => x.toLocaleString('en-US');
  const corpus = loadMlmCorpus(o.vocabSize, o.seqLen, o.limit);
  const tok = corpus.tokenizer;
  const heldOut = corpus.heldOut.flatMap((h) => h.windows);
  if (corpus.train.length <= o.seqLen - 2 || !heldOut.length) {
    throw new Error(`the text is too short for windows of ${o.seqLen - 2} tokens (--seq-len ${o.seqLen} - 2): ${n(corpus.train.length)} training tokens and ${heldOut.length} held-out windows; use a smaller --seq-len or a larger --limit`);
  }
  const estimateWindows = heldOut.filter((_, i) => i % ESTIMATE_STRIDE === 0);
  log(
    `data: ${corpus.sizes.map((s) => `${s.name} ${n(s.train)} + ${n(s.heldOut)} characters`).join(', ')} (train + held out: the last 5% of each); ` +
      `WordPiece vocabulary of ${n(tok.vocabSize)} tokens from the training part; ${n(corpus.train.length)} training tokens, ` +
      `held out: ${corpus.heldOut.map((h) => `${n(h.windows.length)} windows of ${o.seqLen - 2} tokens (${h.name})`).join(', ')} (${duration((performance.now() - t0) / 1000)})`,
  );

  manualSeed(o.seed);
  const config = bertMlmConfig(o, tok.vocabSize);
  const model = new BertForMaskedLM(config).to(o.device);
  const optimizer = new AdamW(paramGroups(model, o.weightDecay), { lr: o.lr, betas: [0.9, 0.98], eps: 1e-6 });
  const schedule = new CosineWithWarmup(optimizer, { warmupSteps: o.warmup, totalSteps: o.steps });
  const batches = new Generator(o.seed + 1);
  mkdirSync(o.out, { recursive: true });
  const ckpt = join(o.out, 'checkpoint.safetensors');

  const { start, losses } = await resumeStepRun(ckpt, { model, optimizer, schedule }, batches, o.resume, log);
  const params = model.parameters().reduce((s, p) => s + p.size, 0);
  log(
    `model: BertForMaskedLM (${o.layers} layer${o.layers === 1 ? '' : 's'}, ${o.heads} heads, width ${o.width}, feed-forward ${4 * o.width}, ${o.seqLen} positions, dropout ${o.dropout}), ${n(params)} parameters; ` +
      `MLM ${pct(o.mlmProbability)} of ${o.wholeWord ? 'words' : 'tokens'} (80% [MASK], 10% random, 10% kept); ` +
      `AdamW lr ${o.lr} (warmup ${o.warmup}, cosine to 0), weight decay ${o.weightDecay}, clip ${o.gradClip}, batch ${o.batchSize} x ${o.seqLen} tokens, ${o.steps} steps, device ${o.device}`,
  );

  const checkpoint = async (step: number) => {
    await saveCheckpoint(ckpt, { model, optimizer, step, extra: { config, losses, batches: batches.getState(), options: { ...o, resume: undefined } } });
    writeFileSync(join(o.out, 'loss.png'), lossCurvePng(losses, o.steps));
  };
  const report = async (step: number) => {
    const s = await evaluateMlm(model, estimateWindows, tok, o);
    log(`step ${step}: held-out estimate (${n(estimateWindows.length)} windows, ${n(s.masked)} masked tokens): accuracy ${pct(s.accuracy)}, loss ${s.loss.toFixed(4)}, perplexity ${s.perplexity.toFixed(1)}`);
    await checkpoint(step);
  };

  const shape: [number, number] = [o.batchSize, o.seqLen];
  const bar = new ProgressBar(process.stderr, 10, 'tok');
  const ema = new EMA(0.95);
  const tokensPerStep = o.batchSize * o.seqLen;
  let trainMs = 0;
  model.train();
  for (let step = start; step < o.steps; step++) {
    if (step % o.evalInterval === 0 && step > start) await report(step);
    const s0 = performance.now();
    const batch = maskBatch(sampleWindows(corpus.train, o.batchSize, o.seqLen, tok, batches), shape, tok, o, batches);
    const value = await optimizerStep({ model, optimizer, schedule, gradClip: o.gradClip }, step + 1, () =>
      crossEntropy(maskedLogits(model, batch, shape, o.device), tensor(batch.targets, { dtype: 'int32', device: o.device })),
    );
    losses.push(value);
    trainMs += performance.now() - s0;
    updateStepBar(bar, { step: step + 1, start, steps: o.steps, trainMs, perStep: tokensPerStep, loss: value, lr: optimizer.paramGroups[0].lr }, ema.update(value));
  }
  const trainSec = trainMs / 1000;
  await report(o.steps);
  const e0 = performance.now();
  const score = await evaluateMlm(model, heldOut, tok, o);
  await model.savePretrained(o.out);
  await tok.savePretrained(o.out);
  const steps = o.steps - start;
  log(
    `training: ${steps} steps in ${duration(trainSec)} (${steps ? ((1000 * trainSec) / steps).toFixed(0) : '-'} ms/step, ${steps ? ((steps * tokensPerStep) / trainSec).toFixed(0) : '-'} tokens/s); ` +
      `wrote ${ckpt}, ${join(o.out, 'loss.png')} and the Hugging Face folder ${o.out} (config.json, model.safetensors, vocab.txt, tokenizer_config.json); total time ${duration((performance.now() - t0) / 1000)}`,
  );
  log(
    `held out: all ${n(heldOut.length)} windows, ${n(score.masked)} masked tokens (${duration((performance.now() - e0) / 1000)}): ` +
      `accuracy ${pct(score.accuracy)}, loss ${score.loss.toFixed(4)}, perplexity ${score.perplexity.toFixed(2)}`,
  );
  return score;
}
