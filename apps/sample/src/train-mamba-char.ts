import { MambaLM, type MambaConfig } from '@dl/mamba';
import type { CharTokenizer } from '@dl/transformer';
import { loadCharLM, trainCharLM, type CharLMRecipe, type CharTrainOptions } from './char-lm.js';
import { GPT_CHAR_DEFAULTS } from './train-gpt-char.js';

/**
 * `dl train mamba-char`: a character-level Mamba (@dl/mamba) on the data, split, batches, block,
 * schedule and steps of `dl train gpt-char` (char-lm.ts's loop), at about the GPT's size.
 */
export interface MambaCharOptions extends CharTrainOptions {
  layers: number;
  width: number;
  /** N, the SSM state per channel */
  dState: number;
}

/** gpt-char's options without its model's (heads, dropout). */
function gptRecipe(): CharTrainOptions {
  const { heads: _heads, dropout: _dropout, layers: _layers, width: _width, ...recipe } = GPT_CHAR_DEFAULTS;
  return recipe;
}

/** gpt-char's recipe with a Mamba of 7 layers at width 128 (0.83M parameters against the GPT's 0.80M). */
export const MAMBA_CHAR_DEFAULTS: MambaCharOptions = {
  ...gptRecipe(),
  layers: 7,
  width: 128,
  dState: 16,
  out: 'runs/mamba-char',
};

/** The Mamba of a run: the reference MambaLMHeadModel's defaults at this size, the book's vocabulary. */
export function mambaCharConfig(o: Pick<MambaCharOptions, 'layers' | 'width' | 'dState'>, vocabSize: number): Partial<MambaConfig> {
  return { dModel: o.width, nLayer: o.layers, vocabSize, dState: o.dState };
}

/** Text from the model: `maxNewTokens` characters after the prompt (recurrent generation). */
export async function mambaText(model: MambaLM, tokenizer: CharTokenizer, o: { prompt: string; maxNewTokens: number; temperature: number; topK: number | null; seed: number }): Promise<string> {
  const ids = tokenizer.encode(o.prompt);
  if (!ids.length) throw new Error('--prompt must have at least one character');
  const out = await model.generate(ids, { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, seed: o.seed });
  return tokenizer.decode(Array.from(out.dataSync().subarray(ids.length)));
}

const MAMBA_RECIPE: CharLMRecipe<MambaLM, MambaCharOptions> = {
  build: (o, vocabSize) => {
    const config = mambaCharConfig(o, vocabSize);
    return { model: new MambaLM(config), config };
  },
  describe: (o, model) => `Mamba (${o.layers} layers, width ${o.width}, d_state ${o.dState}, d_conv ${model.config.dConv}, expand ${model.config.expand}, block ${o.blockSize}), ${model.numParameters().toLocaleString('en-US')} parameters`,
  paramGroups: (model, weightDecay) => model.paramGroups(weightDecay),
  sample: mambaText,
  savePretrained: async (model, dir) => {
    await model.savePretrained(dir);
    return 'state-spaces/mamba folder';
  },
};

/** Trains the Mamba as gpt-char trains its GPT; resolves to the loss on the whole validation text. */
export function trainMambaChar(o: MambaCharOptions, log: (s: string) => void): Promise<number> {
  return trainCharLM(o, MAMBA_RECIPE, log);
}


/** A MambaLM and its tokenizer rebuilt from a mamba-char checkpoint. */
export function loadMambaChar(checkpoint: string, device: string): Promise<{ model: MambaLM; tokenizer: CharTokenizer; step: number }> {
  return loadCharLM(checkpoint, 'mamba-char', (config) => new MambaLM(config as Partial<MambaConfig>), device);
}
