import { BERT_SPAM_DEFAULTS, trainBertSpam } from '../train-bert-spam.js';
import { TRAIN_OPTIONS, num, numIn, seed, text } from './args.js';
import type { Task } from './task.js';

const D = BERT_SPAM_DEFAULTS;

/** `dl train bert-spam`: the bert-mlm BERT fine-tuned to tell spam from ham, beside the same model from scratch. */
export const bertSpam: Task = {
  name: 'bert-spam',
  summary:
    "the `dl train bert-mlm` BERT fine-tuned on SpamAssassin's mail (spam vs ham; sender, subject and body text; a seeded, stratified 80/20 split), " +
    'next to the same model trained from scratch with the same recipe; last line `test accuracy: X` (the pretrained one)',
  options: {
    checkpoint: { ...TRAIN_OPTIONS.checkpoint, help: 'the pretrained Hugging Face BERT folder (config.json, model.safetensors, vocab.txt)', default: D.checkpoint },
    epochs: { ...TRAIN_OPTIONS.epochs, help: 'passes over the training mail', default: String(D.epochs) },
    'batch-size': { ...TRAIN_OPTIONS['batch-size'], help: 'messages per step', default: String(D.batchSize) },
    lr: { ...TRAIN_OPTIONS.lr, help: "AdamW's peak learning rate", default: String(D.lr) },
    out: { ...TRAIN_OPTIONS.out, help: 'folder for the two fine-tuned models (pretrained/, scratch/) and their loss curves', default: D.out },
    seed: { ...TRAIN_OPTIONS.seed, help: 'the split, the fresh classifier (seed), the order of the mail (seed + 1)' },
    limit: { ...TRAIN_OPTIONS.limit, help: 'only N training and N test messages (quick checks, tests)' },
    'max-length': { type: 'string', help: 'tokens per message, [CLS] and [SEP] included (the rest is cut off)', default: String(D.maxLength) },
    dropout: { type: 'string', help: 'dropout while fine-tuning', default: String(D.dropout) },
    'weight-decay': { type: 'string', help: "AdamW's weight decay on matrices and embeddings", default: String(D.weightDecay) },
    'test-fraction': { type: 'string', help: 'share of each class held out for the test', default: String(D.testFraction) },
    'no-baseline': { type: 'boolean', help: 'skip the model trained from scratch' },
  },
  commands: {
    async train(v, { device, log }) {
      const maxLength = num(v, 'max-length', D.maxLength, true);
      if (maxLength < 3) throw new Error(`--max-length must be at least 3 ([CLS], a token, [SEP]), got ${maxLength}`);
      const result = await trainBertSpam(
        {
          checkpoint: text(v, 'checkpoint', D.checkpoint),
          epochs: num(v, 'epochs', D.epochs, true),
          batchSize: num(v, 'batch-size', D.batchSize, true),
          maxLength,
          lr: num(v, 'lr', D.lr),
          warmupFraction: D.warmupFraction,
          weightDecay: numIn(v, 'weight-decay', D.weightDecay, 0, Infinity),
          gradClip: D.gradClip,
          dropout: numIn(v, 'dropout', D.dropout, 0, 1),
          testFraction: numIn(v, 'test-fraction', D.testFraction, 0.01, 1),
          baseline: v['no-baseline'] !== true,
          device,
          out: text(v, 'out', D.out),
          seed: seed(v),
          limit: v.limit === undefined ? undefined : num(v, 'limit', 0, true),
        },
        log,
      );
      return `test accuracy: ${result.pretrained.accuracy.toFixed(4)}`;
    },
  },
};
