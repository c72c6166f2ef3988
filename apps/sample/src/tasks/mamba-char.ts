import { SAMPLE_DEFAULTS } from '../char-lm.js';
import { MAMBA_CHAR_DEFAULTS, loadMambaChar, mambaText, trainMambaChar } from '../train-mamba-char.js';
import { TRAIN_OPTIONS, num, numIn, required, seed, text } from './args.js';
import { charTrainOptionSpecs, charTrainOptions } from './char-lm.js';
import type { Task } from './task.js';

const D = MAMBA_CHAR_DEFAULTS;
const S = SAMPLE_DEFAULTS;

/** `dl train mamba-char`: a character-level Mamba on gpt-char's data and recipe; `dl generate mamba-char` writes text from it. */
export const mambaChar: Task = {
  name: 'mamba-char',
  summary: 'a character-level Mamba (@dl/mamba, 7 layers at width 128) on Moby-Dick with the data, split, batches, block and steps of gpt-char; last line `val loss: X` (nats per character)',
  options: {
    ...charTrainOptionSpecs(D),
    checkpoint: { ...TRAIN_OPTIONS.checkpoint, help: 'generate: the checkpoint.safetensors of a dl train mamba-char run' },
    layers: { type: 'string', help: 'Mamba blocks (n_layer)', default: String(D.layers) },
    width: { type: 'string', help: 'model width (d_model)', default: String(D.width) },
    'd-state': { type: 'string', help: 'SSM state per channel (d_state)', default: String(D.dState) },
    prompt: { type: 'string', help: 'generate: text to continue', default: JSON.stringify(S.prompt) },
    'max-new-tokens': { type: 'string', help: 'generate: characters to add', default: String(S.maxNewTokens) },
    temperature: { type: 'string', help: 'generate: divides the logits; 0 = greedy', default: String(S.temperature) },
    'top-k': { type: 'string', help: 'generate: sample among the k most likely characters', default: String(S.topK) },
  },
  commands: {
    async train(v, { device, log }) {
      const valLoss = await trainMambaChar(
        { ...charTrainOptions(v, D, device), layers: num(v, 'layers', D.layers, true), width: num(v, 'width', D.width, true), dState: num(v, 'd-state', D.dState, true) },
        log,
      );
      return `val loss: ${valLoss.toFixed(4)}`;
    },
    async generate(v, { device, log }) {
      const checkpoint = required(v, 'checkpoint', 'dl generate mamba-char');
      const { model, tokenizer, step } = await loadMambaChar(checkpoint, device);
      log(`loaded ${checkpoint} (step ${step}, ${model.numParameters().toLocaleString('en-US')} parameters, vocabulary ${tokenizer.vocabSize})`);
      const prompt = text(v, 'prompt', S.prompt);
      const maxNewTokens = num(v, 'max-new-tokens', S.maxNewTokens, true);
      const t0 = performance.now();
      const out = await mambaText(model, tokenizer, { prompt, maxNewTokens, temperature: numIn(v, 'temperature', S.temperature, 0, Infinity), topK: num(v, 'top-k', S.topK, true), seed: seed(v) });
      process.stdout.write(`${prompt}${out}\n`);
      return `tokens/s: ${(maxNewTokens / ((performance.now() - t0) / 1000)).toFixed(1)}`;
    },
  },
};
