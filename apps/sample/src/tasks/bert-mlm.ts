import { BERT_MLM_DEFAULTS, trainBertMlm } from '../train-bert-mlm.js';
import { TRAIN_OPTIONS, num, numIn, pick, seed, text } from './args.js';
import type { Task } from './task.js';

const D = BERT_MLM_DEFAULTS;

/** `dl train bert-mlm`: a small BERT (@dl/bert) pretrained with masked-language modelling on Moby-Dick and the State of the Union addresses. */
export const bertMlm: Task = {
  name: 'bert-mlm',
  summary:
    'a small BERT (@dl/bert) pretrained with masked-language modelling (15% of tokens: 80% [MASK], 10% random, 10% kept) on Moby-Dick and the State of the Union addresses, ' +
    'with a WordPiece vocabulary trained on them; the last 5% of each is held out; writes a Hugging Face BERT folder; last line `val mlm accuracy: X`',
  options: {
    steps: { ...TRAIN_OPTIONS.steps, help: 'optimizer steps (the cosine decay ends there)', default: String(D.steps) },
    'batch-size': { ...TRAIN_OPTIONS['batch-size'], help: 'windows of --seq-len tokens per step', default: String(D.batchSize) },
    lr: { ...TRAIN_OPTIONS.lr, help: "AdamW's peak learning rate", default: String(D.lr) },
    out: { ...TRAIN_OPTIONS.out, help: 'folder for the checkpoint, loss.png and the Hugging Face folder (config.json, model.safetensors, vocab.txt)', default: D.out },
    ...pick(TRAIN_OPTIONS, 'resume'),
    seed: { ...TRAIN_OPTIONS.seed, help: 'initial weights (seed), windows and masks (seed + 1)' },
    limit: { ...TRAIN_OPTIONS.limit, help: 'only the first N characters of each text (quick checks, tests)' },
    'seq-len': { type: 'string', help: 'tokens per window, [CLS] and [SEP] included (the model\'s positions)', default: String(D.seqLen) },
    layers: { type: 'string', help: 'Transformer layers', default: String(D.layers) },
    heads: { type: 'string', help: 'attention heads', default: String(D.heads) },
    width: { type: 'string', help: 'hidden size (the feed-forward layer is 4 times as wide)', default: String(D.width) },
    dropout: { type: 'string', help: 'dropout on hidden states and attention weights', default: String(D.dropout) },
    'vocab-size': { type: 'string', help: 'WordPiece vocabulary size, special tokens included', default: String(D.vocabSize) },
    warmup: { type: 'string', help: 'steps of linear warmup (fewer than --steps)', default: `${D.warmup} (at most steps - 1)` },
    'weight-decay': { type: 'string', help: "AdamW's weight decay on matrices and embeddings", default: String(D.weightDecay) },
    'mlm-probability': { type: 'string', help: 'share of tokens (words, with --whole-word) chosen for prediction', default: String(D.mlmProbability) },
    'whole-word': { type: 'boolean', help: 'choose whole words: all the WordPiece pieces of a word together' },
    'eval-interval': { type: 'string', help: 'steps between held-out estimates and checkpoints', default: String(D.evalInterval) },
  },
  commands: {
    async train(v, { device, log }) {
      const steps = num(v, 'steps', D.steps, true);
      const seqLen = num(v, 'seq-len', D.seqLen, true);
      if (seqLen < 3) throw new Error(`--seq-len must be at least 3 ([CLS], a token, [SEP]), got ${seqLen}`);
      const width = num(v, 'width', D.width, true);
      const heads = num(v, 'heads', D.heads, true);
      if (width % heads !== 0) throw new Error(`--width (${width}) must be a multiple of --heads (${heads})`);
      const vocabSize = num(v, 'vocab-size', D.vocabSize, true);
      if (vocabSize < 6) throw new Error(`--vocab-size must leave room beyond the 5 special tokens, got ${vocabSize}`);
      const score = await trainBertMlm(
        {
          steps,
          batchSize: num(v, 'batch-size', D.batchSize, true),
          seqLen,
          layers: num(v, 'layers', D.layers, true),
          heads,
          width,
          dropout: numIn(v, 'dropout', D.dropout, 0, 1),
          vocabSize,
          lr: num(v, 'lr', D.lr),
          warmup: numIn(v, 'warmup', Math.min(D.warmup, steps - 1), 0, steps, true),
          weightDecay: numIn(v, 'weight-decay', D.weightDecay, 0, Infinity),
          gradClip: D.gradClip,
          mlmProbability: numIn(v, 'mlm-probability', D.mlmProbability, 0.01, 1),
          wholeWord: v['whole-word'] === true,
          evalInterval: num(v, 'eval-interval', D.evalInterval, true),
          device,
          out: text(v, 'out', D.out),
          resume: v.resume === true,
          seed: seed(v),
          limit: v.limit === undefined ? undefined : num(v, 'limit', 0, true),
        },
        log,
      );
      return `val mlm accuracy: ${score.accuracy.toFixed(4)}`;
    },
  },
};
