import { GPT_CHAR_DEFAULTS, SAMPLE_DEFAULTS, loadGptChar, streamText, trainGptChar } from '../train-gpt-char.js';
import { TRAIN_OPTIONS, num, numIn, required, seed, text } from './args.js';
import { charTrainOptionSpecs, charTrainOptions } from './char-lm.js';
import type { Task } from './task.js';

const D = GPT_CHAR_DEFAULTS;
const S = SAMPLE_DEFAULTS;

/** `dl train gpt-char`: nanoGPT's character-level GPT on Moby-Dick; `dl generate gpt-char` streams text from it. */
export const gptChar: Task = {
  name: 'gpt-char',
  summary: "a character-level GPT (@dl/transformer) on Moby-Dick, nanoGPT's CPU configuration; first 90% of the characters train, last 10% validate; last line `val loss: X` (nats per character)",
  options: {
    ...charTrainOptionSpecs(D),
    checkpoint: { ...TRAIN_OPTIONS.checkpoint, help: 'generate: the checkpoint.safetensors of a dl train gpt-char run' },
    layers: { type: 'string', help: 'Transformer blocks', default: String(D.layers) },
    heads: { type: 'string', help: 'attention heads', default: String(D.heads) },
    width: { type: 'string', help: 'model width (n_embd)', default: String(D.width) },
    dropout: { type: 'string', help: 'dropout while training', default: String(D.dropout) },
    prompt: { type: 'string', help: 'generate: text to continue', default: JSON.stringify(S.prompt) },
    'max-new-tokens': { type: 'string', help: 'generate: characters to add', default: String(S.maxNewTokens) },
    temperature: { type: 'string', help: 'generate: divides the logits; 0 = greedy', default: String(S.temperature) },
    'top-k': { type: 'string', help: 'generate: sample among the k most likely characters', default: String(S.topK) },
    'no-cache': { type: 'boolean', help: 'generate: run the whole context for every character (no KV cache)' },
  },
  commands: {
    async train(v, { device, log }) {
      const valLoss = await trainGptChar(
        {
          ...charTrainOptions(v, D, device),
          layers: num(v, 'layers', D.layers, true),
          heads: num(v, 'heads', D.heads, true),
          width: num(v, 'width', D.width, true),
          dropout: numIn(v, 'dropout', D.dropout, 0, 1),
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
