import { GPT, type CharTokenizer, type GPTConfig } from '@dl/transformer';
import { SAMPLE_DEFAULTS, loadCharLM, trainCharLM, type CharLMRecipe, type CharTrainOptions } from './char-lm.js';

export { SAMPLE_DEFAULTS, evalLoss, getBatch } from './char-lm.js';

/**
 * `dl train gpt-char`: a character-level GPT (@dl/transformer) on Moby-Dick with nanoGPT's
 * shakespeare_char recipe in its CPU size (config/train_shakespeare_char.py with the README's
 * "on a MacBook" overrides), judged by the cross-entropy on the last 10% of the book in nats per
 * character.
 */
export interface GptCharOptions extends CharTrainOptions {
  layers: number;
  heads: number;
  width: number;
  dropout: number;
}

/** nanoGPT's CPU configuration: 4 layers, 4 heads, 128 wide, block 64, batch 12, 2,000 steps, no dropout. */
export const GPT_CHAR_DEFAULTS: GptCharOptions = {
  steps: 2000,
  batchSize: 12,
  blockSize: 64,
  layers: 4,
  heads: 4,
  width: 128,
  dropout: 0,
  lr: 1e-3,
  minLr: 1e-4,
  warmup: 100,
  weightDecay: 0.1,
  gradClip: 1,
  evalInterval: 250,
  evalIters: 20,
  device: 'cpu',
  out: 'runs/gpt-char',
  resume: false,
  seed: 0,
};

/**
 * Text from the model: the prompt, then `maxNewTokens` characters passed to `write` as each is
 * made (KV cache unless `useCache` is false). Resolves to the new characters and tokens/s.
 */
export async function streamText(
  model: GPT,
  tokenizer: CharTokenizer,
  o: { prompt: string; maxNewTokens: number; temperature: number; topK: number | null; seed: number; useCache?: boolean },
  write: (s: string) => void,
): Promise<{ text: string; tokensPerSec: number }> {
  const ids = tokenizer.encode(o.prompt);
  if (!ids.length) throw new Error('--prompt must have at least one character');
  const decoder = tokenizer.streamDecoder();
  let text = '';
  const t0 = performance.now();
  for await (const [id] of model.stream(ids, { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, seed: o.seed, useCache: o.useCache })) {
    const piece = decoder.push(id);
    text += piece;
    write(piece);
  }
  const tail = decoder.flush();
  text += tail;
  write(tail);
  return { text, tokensPerSec: o.maxNewTokens / ((performance.now() - t0) / 1000) };
}

/** The GPT of a run: nanoGPT's model with the vocabulary of the book and exact GELU (nanoGPT's nn.GELU()). */
export function gptCharConfig(o: Pick<GptCharOptions, 'blockSize' | 'layers' | 'heads' | 'width' | 'dropout'>, vocabSize: number): Partial<GPTConfig> {
  return { vocabSize, blockSize: o.blockSize, nLayer: o.layers, nHead: o.heads, nEmbd: o.width, dropout: o.dropout, bias: true, activation: 'gelu' };
}

/** The GPT side of the character-level recipe (char-lm.ts). */
const GPT_RECIPE: CharLMRecipe<GPT, GptCharOptions> = {
  build: (o, vocabSize) => {
    const config = gptCharConfig(o, vocabSize);
    return { model: new GPT(config), config };
  },
  describe: (o, model) => `GPT (${o.layers} layers, ${o.heads} heads, width ${o.width}, block ${o.blockSize}, dropout ${o.dropout}), ${model.getNumParams().toLocaleString('en-US')} parameters`,
  paramGroups: (model, weightDecay) => model.paramGroups(weightDecay),
  sample: async (model, tokenizer, o) => (await streamText(model, tokenizer, o, () => {})).text,
  savePretrained: async (model, dir) => {
    await model.savePretrained(dir);
    return 'GPT-2 folder';
  },
};

/**
 * Trains the model (char-lm.ts's loop): every evalInterval steps prints the train and val loss
 * estimates and a sample and writes the checkpoint; at the end writes loss.png and a GPT-2
 * folder (hf/) and returns the loss on the whole validation text.
 */
export function trainGptChar(o: GptCharOptions, log: (s: string) => void): Promise<number> {
  return trainCharLM(o, GPT_RECIPE, log);
}

/** A GPT and its tokenizer rebuilt from a gpt-char checkpoint (config and characters are in its metadata). */
export async function loadGptChar(checkpoint: string, device: string): Promise<{ model: GPT; tokenizer: CharTokenizer; step: number }> {
  return loadCharLM(checkpoint, 'gpt-char', (config) => new GPT(config as Partial<GPTConfig>), device);
}
