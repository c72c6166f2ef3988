import { noGrad } from '@dl/autograd';
import { BertForMaskedLM, BertTokenizer, maskTokens, trainWordPiece } from '@dl/bert';
import { AdamW } from '@dl/layers';
import { Generator, manualSeed, randint, scope, tensor } from '@dl/tensor';
import type { Device } from '../protocol.js';
import { loadMobyDick } from './data.js';
import { pickDevice } from './devices.js';
import { register } from './registry.js';
import { disposeTrainee, optimizerStep, readScalar, trainRun, type Trainee } from './train-loop.js';

/** WordPiece tokens of the page's vocabulary (dl train bert-mlm uses 8,000 over two books). */
const VOCAB = 4000;
/** Tokens per training window, [CLS] and [SEP] included (the model's maxPositionEmbeddings). */
const SEQ = 64;

/** The first 90% of Moby-Dick as WordPiece ids, with a vocabulary trained on that part. */
let corpus: Promise<{ tokenizer: BertTokenizer; stream: Int32Array }> | null = null;
function loadCorpus(): Promise<{ tokenizer: BertTokenizer; stream: Int32Array }> {
  corpus ??= loadMobyDick().then((text) => {
    const train = text.slice(0, Math.floor(text.length * 0.9));
    const tokenizer = new BertTokenizer(trainWordPiece(train, VOCAB));
    return { tokenizer, stream: Int32Array.from(tokenizer.convertTokensToIds(tokenizer.tokenize(train)) as number[]) };
  });
  return corpus;
}

interface Bert extends Trainee<BertForMaskedLM> {
  tokenizer: BertTokenizer;
  draws: Generator;
}
let bert: Bert | null = null;

/** `batch` windows at random offsets as `[CLS] ... [SEP]` rows (B, SEQ). */
function windows(stream: Int32Array, batch: number, tok: BertTokenizer, g: Generator): Int32Array {
  const w = SEQ - 2;
  const offsets = randint(0, stream.length - w, [batch], { generator: g }).dataSync();
  const rows = new Int32Array(batch * SEQ);
  offsets.forEach((o, b) => {
    rows[b * SEQ] = tok.clsTokenId;
    rows.set(stream.subarray(o, o + w), b * SEQ + 1);
    rows[b * SEQ + SEQ - 1] = tok.sepTokenId;
  });
  return rows;
}

register({
  /**
   * Pretrains a small BERT (4 layers, 4 heads, width 128: dl train bert-mlm's shape, windows of 64)
   * with BERT's masking (15% of the tokens: 80% [MASK], 10% random, 10% kept), AdamW, clipping at 1.
   */
  'bert.train': async (a: { steps: number; batch: number; lr: number; device?: Device; reset?: boolean }, emit) => {
    const { tokenizer, stream } = await loadCorpus();
    const device = pickDevice(a.device);
    if (a.reset || !bert || bert.device !== device) {
      disposeTrainee(bert);
      manualSeed(3);
      const model = new BertForMaskedLM({ vocabSize: tokenizer.vocabSize, hiddenSize: 128, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 512, maxPositionEmbeddings: SEQ, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 }).to(device);
      const params = model.parameters();
      const optimizer = new AdamW([{ params: params.filter((p) => p.ndim >= 2), weightDecay: 0.01 }, { params: params.filter((p) => p.ndim < 2), weightDecay: 0 }], { lr: a.lr });
      bert = { model, optimizer, device, step: 0, tokenizer, draws: new Generator(7) };
    }
    const b = bert;
    b.model.train();
    const run = await trainRun('bert', b, a.steps, emit, async () => {
      const rows = windows(stream, a.batch, tokenizer, b.draws);
      const [loss] = optimizerStep(
        b,
        () => {
          const { inputIds, labels } = maskTokens(tensor(rows, { shape: [a.batch, SEQ], dtype: 'int32' }), { maskTokenId: tokenizer.maskTokenId, vocabSize: tokenizer.vocabSize, specialIds: tokenizer.allSpecialIds, mlmProbability: 0.15, generator: b.draws });
          return [b.model.forward(inputIds.to(device), { labels: labels.to(device) }).loss];
        },
        1,
      );
      return { loss: await readScalar(loss) };
    });
    return { ...run, device, vocabSize: tokenizer.vocabSize, parameters: b.model.numParameters() };
  },
  /** The 5 likeliest tokens at each [MASK] of `text`. */
  'bert.fill': async (text: string) => {
    if (!bert) throw new Error('BERT: no model yet; train it first');
    const b = bert;
    const { inputIds } = b.tokenizer.encode(text, { maxLength: SEQ, truncation: true });
    const ids = Array.from(inputIds);
    const masks = ids.flatMap((id, i) => (id === b.tokenizer.maskTokenId ? [i] : []));
    if (!masks.length) throw new Error('write [MASK] where BERT should fill in a word');
    b.model.eval();
    const probs = noGrad(() => scope(() => b.model.forward(tensor(Int32Array.from(ids), { shape: [1, ids.length], dtype: 'int32' }).to(b.device)).squeeze(0).softmax(-1))); // (T, V)
    const p = await probs.data();
    probs.dispose();
    b.model.train();
    const V = b.tokenizer.vocabSize;
    return masks.map((pos) => {
      const row = Array.from(p.subarray(pos * V, (pos + 1) * V) as Float32Array);
      const top = row.map((v, i) => [v, i] as const).sort((x, y) => y[0] - x[0]).slice(0, 5);
      return top.map(([prob, id]) => ({ token: b.tokenizer.convertIdsToTokens([id])[0], prob }));
    });
  },
});
