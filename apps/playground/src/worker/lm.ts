import { AdamW } from '@dl/layers';
import { MambaLM } from '@dl/mamba';
import { Generator, manualSeed, randint, scope, tensor, type Tensor } from '@dl/tensor';
import { CharTokenizer, GPT } from '@dl/transformer';
import type { Device } from '../protocol.js';
import { loadMobyDick } from './data.js';
import { pickDevice } from './devices.js';
import { register, yieldToEvents } from './registry.js';
import { disposeTrainee, optimizerStep, readScalar, trainRun, type Trainee } from './train-loop.js';

export type LMKind = 'gpt' | 'mamba';
type CharModel = GPT | MambaLM;

/** Moby-Dick as character ids: the vocabulary of the whole book, the first 90% for training (as `dl train gpt-char`). */
let corpus: Promise<{ tokenizer: CharTokenizer; train: Int32Array }> | null = null;
function loadCorpus(): Promise<{ tokenizer: CharTokenizer; train: Int32Array }> {
  corpus ??= loadMobyDick().then((text) => {
    const tokenizer = CharTokenizer.fromText(text);
    const ids = Int32Array.from(tokenizer.encode(text));
    return { tokenizer, train: ids.subarray(0, Math.floor(ids.length * 0.9)) };
  });
  return corpus;
}

/**
 * The models of `dl train gpt-char` (nanoGPT's CPU size: 4 layers, 4 heads, width 128, block 64)
 * and `dl train mamba-char` (7 layers, width 128, d_state 16), for the book's vocabulary.
 */
export function buildCharModel(kind: LMKind, vocabSize: number, config?: unknown): CharModel {
  if (kind === 'gpt') return new GPT((config as object) ?? { vocabSize, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: true, activation: 'gelu' });
  return new MambaLM((config as object) ?? { dModel: 128, nLayer: 7, vocabSize, dState: 16 });
}

interface LM extends Trainee<CharModel> {
  kind: LMKind;
  batches: Generator;
  tokenizer: CharTokenizer;
}
const lms = new Map<LMKind, LM>();

function newLM(kind: LMKind, device: Device, lr: number, tokenizer: CharTokenizer): LM {
  disposeTrainee(lms.get(kind) ?? null);
  manualSeed(kind === 'gpt' ? 1 : 2);
  const model = scope(() => buildCharModel(kind, tokenizer.vocabSize).to(device)); // init's temporaries freed
  const lm: LM = { kind, model, optimizer: new AdamW(model.paramGroups(0.1), { lr, betas: [0.9, 0.99] }), device, step: 0, batches: new Generator(kind === 'gpt' ? 11 : 12), tokenizer };
  lms.set(kind, lm);
  return lm;
}

/** Replaces the model of `kind` (a loaded checkpoint); the next training run continues from it. */
export function setCharModel(kind: LMKind, model: CharModel, tokenizer: CharTokenizer, device: Device, step: number): void {
  disposeTrainee(lms.get(kind) ?? null);
  model.to(device);
  lms.set(kind, { kind, model, optimizer: new AdamW(model.paramGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] }), device, step, batches: new Generator(kind === 'gpt' ? 11 : 12), tokenizer });
}

export function charModel(kind: LMKind): LM | undefined {
  return lms.get(kind);
}

/** nanoGPT's get_batch: `batch` windows of `block` characters at random offsets, and the same one character later. */
function getBatch(data: Int32Array, batch: number, block: number, generator: Generator, device: string): { x: Tensor; y: Tensor } {
  const offsets = randint(0, data.length - block, [batch], { generator }).dataSync();
  const x = new Int32Array(batch * block);
  const y = new Int32Array(batch * block);
  offsets.forEach((o, b) => {
    x.set(data.subarray(o, o + block), b * block);
    y.set(data.subarray(o + 1, o + 1 + block), b * block);
  });
  return { x: tensor(x, { shape: [batch, block], device }), y: tensor(y, { shape: [batch, block], device }) };
}

register({
  /** Trains the GPT or the Mamba `steps` steps (AdamW, clipping at 1); events carry tokens/s. */
  'lm.train': async (a: { kind: LMKind; steps: number; batch: number; block: number; lr: number; device?: Device; reset?: boolean }, emit) => {
    const { tokenizer, train } = await loadCorpus();
    const device = pickDevice(a.device);
    const old = lms.get(a.kind);
    const lm = a.reset || !old || old.device !== device ? newLM(a.kind, device, a.lr, tokenizer) : old;
    lm.model.train();
    const block = lm.model instanceof GPT ? Math.min(a.block, lm.model.config.blockSize) : a.block;
    const run = await trainRun(`lm.${a.kind}`, lm, a.steps, (e) => emit({ ...(e as object), tokensPerSec: (e as { stepsPerSec: number }).stepsPerSec * a.batch * block }), async () => {
      const [loss] = optimizerStep(
        lm,
        () => {
          const { x, y } = getBatch(train, a.batch, block, lm.batches, device);
          return [lm.model.forward(x, y).loss];
        },
        1,
      );
      return { loss: await readScalar(loss) };
    });
    return { ...run, device, tokensPerSec: run.stepsPerSec * a.batch * block, parameters: lm.model.numParameters() };
  },
  /** Streams `maxNewTokens` characters after `prompt`, one event per character. */
  'lm.generate': async (a: { kind: LMKind; prompt: string; maxNewTokens: number; temperature: number; topK: number; seed: number }, emit) => {
    const lm = lms.get(a.kind);
    if (!lm) throw new Error(`${a.kind}: no model yet; train it or load a checkpoint first`);
    const ids = lm.tokenizer.encode(a.prompt);
    if (!ids.length) throw new Error('the prompt must have at least one character');
    const decoder = lm.tokenizer.streamDecoder();
    const opts = { maxNewTokens: a.maxNewTokens, temperature: a.temperature, topK: a.topK, seed: a.seed };
    lm.model.eval();
    const t0 = performance.now();
    if (lm.model instanceof GPT) {
      for await (const [id] of lm.model.stream(ids, opts)) {
        emit(decoder.push(id));
        await yieldToEvents();
      }
    } else {
      const out = await lm.model.generate(ids, { ...opts, onToken: ([id]) => emit(decoder.push(id)) });
      out.dispose();
    }
    emit(decoder.flush());
    lm.model.train();
    return { tokensPerSec: a.maxNewTokens / ((performance.now() - t0) / 1000) };
  },
});
