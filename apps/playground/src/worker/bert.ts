import { noGrad } from '@dl/autograd';
import { BertForMaskedLM, BertTokenizer, bertConfigFromJson, loadBertWeights, maskTokens, tokenizerOptionsFromConfig, trainWordPiece } from '@dl/bert';
import { AdamW, parseSafetensors } from '@dl/layers';
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

/** The first 90% of Moby-Dick. */
async function trainText(): Promise<string> {
  const text = await loadMobyDick();
  return text.slice(0, Math.floor(text.length * 0.9));
}

/** A WordPiece vocabulary trained on the first 90% of Moby-Dick. */
let ownTokenizer: Promise<BertTokenizer> | null = null;
function pageTokenizer(): Promise<BertTokenizer> {
  ownTokenizer ??= trainText().then((train) => new BertTokenizer(trainWordPiece(train, VOCAB)));
  return ownTokenizer;
}

/** The training text as ids of a tokenizer (the page's, or a loaded model's). */
const streams = new WeakMap<BertTokenizer, Int32Array>();
async function streamOf(tokenizer: BertTokenizer): Promise<Int32Array> {
  let s = streams.get(tokenizer);
  if (!s) streams.set(tokenizer, (s = Int32Array.from(tokenizer.convertTokensToIds(tokenizer.tokenize(await trainText())) as number[])));
  return s;
}

interface Bert extends Trainee<BertForMaskedLM> {
  tokenizer: BertTokenizer;
  draws: Generator;
  /** from a dropped Hugging Face folder (its vocabulary stays) */
  loaded: boolean;
}

const adamW = (model: BertForMaskedLM, lr: number): AdamW => {
  const params = model.parameters();
  return new AdamW([{ params: params.filter((p) => p.ndim >= 2), weightDecay: 0.01 }, { params: params.filter((p) => p.ndim < 2), weightDecay: 0 }], { lr });
};
let bert: Bert | null = null;

/** `batch` windows at random offsets as `[CLS] ... [SEP]` rows (B, seq). */
function windows(stream: Int32Array, batch: number, seq: number, tok: BertTokenizer, g: Generator): Int32Array {
  const w = seq - 2;
  const offsets = randint(0, stream.length - w, [batch], { generator: g }).dataSync();
  const rows = new Int32Array(batch * seq);
  offsets.forEach((o, b) => {
    rows[b * seq] = tok.clsTokenId;
    rows.set(stream.subarray(o, o + w), b * seq + 1);
    rows[b * seq + seq - 1] = tok.sepTokenId;
  });
  return rows;
}

register({
  /**
   * Pretrains a small BERT (4 layers, 4 heads, width 128: dl train bert-mlm's shape, windows of 64)
   * with BERT's masking (15% of the tokens: 80% [MASK], 10% random, 10% kept), AdamW, clipping at 1.
   */
  'bert.train': async (a: { steps: number; batch: number; lr: number; device?: Device; reset?: boolean }, emit) => {
    const device = pickDevice(a.device);
    if (a.reset || !bert || (bert.device !== device && !bert.loaded)) {
      const tokenizer = await pageTokenizer();
      disposeTrainee(bert);
      manualSeed(3);
      const model = scope(() => new BertForMaskedLM({ vocabSize: tokenizer.vocabSize, hiddenSize: 128, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 512, maxPositionEmbeddings: SEQ, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 }).to(device)); // init's temporaries freed
      const optimizer = adamW(model, a.lr);
      bert = { model, optimizer, device, step: 0, tokenizer, draws: new Generator(7), loaded: false };
    } else if (bert.device !== device) {
      bert.model.to(device);
      bert.device = device;
    }
    const b = bert;
    const tokenizer = b.tokenizer;
    const stream = await streamOf(tokenizer);
    const seq = Math.min(SEQ, b.model.config.maxPositionEmbeddings);
    b.model.train();
    const run = await trainRun('bert', b, a.steps, emit, async () => {
      const rows = windows(stream, a.batch, seq, tokenizer, b.draws);
      const [loss] = optimizerStep(
        b,
        () => {
          const { inputIds, labels } = maskTokens(tensor(rows, { shape: [a.batch, seq], dtype: 'int32' }), { maskTokenId: tokenizer.maskTokenId, vocabSize: tokenizer.vocabSize, specialIds: tokenizer.allSpecialIds, mlmProbability: 0.15, generator: b.draws });
          return [b.model.forward(inputIds.to(device), { labels: labels.to(device) }).loss];
        },
        1,
      );
      return { loss: await readScalar(loss) };
    });
    return { ...run, device, vocabSize: tokenizer.vocabSize, parameters: b.model.numParameters() };
  },
  /**
   * A Hugging Face BERT folder's files (what `dl train bert-mlm` writes to its `hf/`: config.json,
   * model.safetensors, vocab.txt, optionally tokenizer_config.json) as the panel's model.
   */
  'bert.loadFolder': async (a: { files: Record<string, ArrayBuffer>; device?: Device }) => {
    const device = pickDevice(a.device);
    const text = (name: string): string | null => (a.files[name] ? new TextDecoder().decode(a.files[name]) : null);
    const [config, vocab, weights] = [text('config.json'), text('vocab.txt'), a.files['model.safetensors']];
    if (!config || !vocab || !weights) throw new Error(`a BERT folder needs config.json, vocab.txt and model.safetensors; got ${Object.keys(a.files).join(', ')}`);
    const tokConfig = text('tokenizer_config.json');
    const tokenizer = BertTokenizer.fromVocabTxt(vocab, tokConfig ? tokenizerOptionsFromConfig(JSON.parse(tokConfig) as Record<string, unknown>) : {});
    const model = scope(() => new BertForMaskedLM(bertConfigFromJson(JSON.parse(config) as Record<string, unknown>)));
    const { tensors } = parseSafetensors(new Uint8Array(weights));
    loadBertWeights(model, tensors, { where: 'model.safetensors' });
    for (const t of Object.values(tensors)) if (!t.isDisposed) t.dispose();
    disposeTrainee(bert);
    model.to(device);
    bert = { model, optimizer: adamW(model, 1e-3), device, step: 0, tokenizer, draws: new Generator(7), loaded: true };
    const c = model.config;
    return { description: `BERT (${c.numHiddenLayers} layers, width ${c.hiddenSize}, ${model.numParameters().toLocaleString('en-US')} parameters, ${tokenizer.vocabSize.toLocaleString('en-US')} tokens)` };
  },
  /** The 5 likeliest tokens at each [MASK] of `text`. */
  'bert.fill': async (text: string) => {
    if (!bert) throw new Error('BERT: no model yet; train it first');
    const b = bert;
    const { inputIds } = b.tokenizer.encode(text, { maxLength: b.model.config.maxPositionEmbeddings, truncation: true });
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
