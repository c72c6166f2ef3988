import { describe, expect, it } from 'vitest';
import { BertModel, BertTokenizer, trainWordPiece } from '@dl/bert';
import { manualSeed } from '@dl/tensor';
import { cosineSimilarity } from './base.js';
import { BertEmbeddings } from './bert.js';

const corpus = ['Call me Ishmael.', 'Some years ago, never mind how long precisely, having little or no money in my purse.', 'The white whale swam away from the ship.', 'Captain Ahab stood on the deck.'];

function tinyBert(): { model: BertModel; tokenizer: BertTokenizer } {
  const tokenizer = new BertTokenizer(trainWordPiece(corpus, 200, { minFrequency: 1 }));
  manualSeed(0);
  const model = new BertModel({ vocabSize: tokenizer.vocabSize, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 64 });
  return { model, tokenizer };
}

describe('BertEmbeddings with a real @dl/bert model (random weights)', () => {
  const { model, tokenizer } = tinyBert();
  const embeddings = new BertEmbeddings({ model, tokenizer, batchSize: 3 });

  it('unit vectors, one per text; padding in a batch does not change a text\'s vector', async () => {
    const vs = await embeddings.embedDocuments(corpus);
    expect(vs).toHaveLength(4);
    expect(vs.every((v) => v.length === 16)).toBe(true);
    for (const v of vs) expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    // 'Call me Ishmael.' was padded to the long text's length in its batch; alone it is not padded
    const alone = await embeddings.embedQuery(corpus[0]);
    alone.forEach((x, i) => expect(x).toBeCloseTo(vs[0][i], 4));
    expect(cosineSimilarity(vs[0], vs[1])).toBeLessThan(0.9999);
  });

  it('runs in eval mode (no dropout: the same text gives the same vector) and restores training mode', async () => {
    model.train();
    const a = await embeddings.embedQuery(corpus[2]);
    const b = await embeddings.embedQuery(corpus[2]);
    expect(a).toEqual(b);
    expect(model.training).toBe(true);
    model.eval();
  });

  it('truncates to maxLength; names a model or tokenizer that does not fit', async () => {
    const short = new BertEmbeddings({ model, tokenizer, maxLength: 4 });
    // [CLS] some years [SEP]: what follows is cut, so these two texts embed the same
    const [v, w] = await short.embedDocuments(['Some years ago, never mind', 'Some years having little money']);
    expect(v).toEqual(w);
    const [x, y] = await embeddings.embedDocuments(['Some years ago, never mind', 'Some years having little money']);
    expect(x).not.toEqual(y);
    expect(() => new BertEmbeddings({ model: {} as never, tokenizer })).toThrow(/model must have embed/);
    expect(() => new BertEmbeddings({ model, tokenizer: {} as never })).toThrow(/tokenizer must have encodeBatch/);
  });
});
