import { GPT_CHAR_DEFAULTS, SAMPLE_DEFAULTS, loadGptChar, streamText, trainGptChar } from '../train-gpt-char.js';
import { TRAIN_OPTIONS, num, numIn, pick, required, seed, text } from './args.js';
import type { Task } from './task.js';

const D = GPT_CHAR_DEFAULTS;
const S = SAMPLE_DEFAULTS;

/** `dl train gpt-char`: nanoGPT's character-level GPT on Moby-Dick; `dl generate gpt-char` streams text from it. */
export const gptChar: Task = {
  name: 'gpt-char',
  summary: "a character-level GPT (@dl/transformer) on Moby-Dick, nanoGPT's CPU configuration; first 90% of the characters train, last 10% validate; last line `val loss: X` (nats per character)",
  options: {
    steps: { ...TRAIN_OPTIONS.steps, help: 'optimizer steps (the cosine decay ends there)', default: String(D.steps) },
    'batch-size': { ...TRAIN_OPTIONS['batch-size'], help: 'windows of --block-size characters per step', default: String(D.batchSize) },
    lr: { ...TRAIN_OPTIONS.lr, help: "AdamW's peak learning rate", default: String(D.lr) },
    out: { ...TRAIN_OPTIONS.out, default: D.out },
    ...pick(TRAIN_OPTIONS, 'resume'),
    seed: { ...TRAIN_OPTIONS.seed, help: 'initial weights (seed), batches (seed + 1), samples (seed)' },
    checkpoint: { ...TRAIN_OPTIONS.checkpoint, help: 'generate: the checkpoint.safetensors of a dl train gpt-char run' },
    limit: { ...TRAIN_OPTIONS.limit, help: 'only the first N characters of the book (quick checks, tests)' },
    'block-size': { type: 'string', help: 'context length in characters', default: String(D.blockSize) },
    layers: { type: 'string', help: 'Transformer blocks', default: String(D.layers) },
    heads: { type: 'string', help: 'attention heads', default: String(D.heads) },
    width: { type: 'string', help: 'model width (n_embd)', default: String(D.width) },
    dropout: { type: 'string', help: 'dropout while training', default: String(D.dropout) },
    'min-lr': { type: 'string', help: 'learning rate at the end of the cosine decay', default: String(D.minLr) },
    warmup: { type: 'string', help: 'steps of linear warmup (fewer than --steps)', default: `${D.warmup} (at most steps - 1)` },
    'weight-decay': { type: 'string', help: "AdamW's weight decay on matrices and embeddings", default: String(D.weightDecay) },
    'eval-interval': { type: 'string', help: 'steps between loss estimates, samples and checkpoints', default: String(D.evalInterval) },
    'eval-iters': { type: 'string', help: 'batches behind each loss estimate', default: String(D.evalIters) },
    prompt: { type: 'string', help: 'generate: text to continue', default: JSON.stringify(S.prompt) },
    'max-new-tokens': { type: 'string', help: 'generate: characters to add', default: String(S.maxNewTokens) },
    temperature: { type: 'string', help: 'generate: divides the logits; 0 = greedy', default: String(S.temperature) },
    'top-k': { type: 'string', help: 'generate: sample among the k most likely characters', default: String(S.topK) },
    'no-cache': { type: 'boolean', help: 'generate: run the whole context for every character (no KV cache)' },
  },
  commands: {
    async train(v, { device, log }) {
      const steps = num(v, 'steps', D.steps, true);
      const valLoss = await trainGptChar(
        {
          steps,
          batchSize: num(v, 'batch-size', D.batchSize, true),
          blockSize: num(v, 'block-size', D.blockSize, true),
          layers: num(v, 'layers', D.layers, true),
          heads: num(v, 'heads', D.heads, true),
          width: num(v, 'width', D.width, true),
          dropout: numIn(v, 'dropout', D.dropout, 0, 1),
          lr: num(v, 'lr', D.lr),
          minLr: numIn(v, 'min-lr', D.minLr, 0, Infinity),
          warmup: numIn(v, 'warmup', Math.min(D.warmup, steps - 1), 0, steps, true),
          weightDecay: numIn(v, 'weight-decay', D.weightDecay, 0, Infinity),
          gradClip: D.gradClip,
          evalInterval: num(v, 'eval-interval', D.evalInterval, true),
          evalIters: num(v, 'eval-iters', D.evalIters, true),
          device,
          out: text(v, 'out', D.out),
          resume: v.resume === true,
          seed: seed(v),
          limit: v.limit === undefined ? undefined : num(v, 'limit', 0, true),
        },
        log,
      );
      return `val loss: ${valLoss.toFixed(4)}`;
    },
    async generate(v, { device, log }) {
      const checkpoint = required(v, 'checkpoint', 'dl generate gpt-char');
      const { model, tokenizer, step } = await loadGptChar(checkpoint, device);
      log(`loaded ${checkpoint} (step ${step}, ${model.getNumParams().toLocaleString('en-US')} parameters, vocabulary ${tokenizer.vocabSize})`);
      const prompt = text(v, 'prompt', S.prompt);
      const topK = num(v, 'top-k', S.topK, true);
      const write = (s: string) => void process.stdout.write(s);
      write(prompt);
      const { tokensPerSec } = await streamText(
        model,
        tokenizer,
        {
          prompt,
          maxNewTokens: num(v, 'max-new-tokens', S.maxNewTokens, true),
          temperature: numIn(v, 'temperature', S.temperature, 0, Infinity),
          topK,
          seed: seed(v),
          useCache: v['no-cache'] !== true,
        },
        write,
      );
      write('\n');
      return `tokens/s: ${tokensPerSec.toFixed(1)}`;
    },
  },
};
