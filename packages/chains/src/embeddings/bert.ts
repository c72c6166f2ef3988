/**
 * BertEmbeddings: mean-pooled sentence embeddings from a @dl/bert model and its WordPiece
 * tokenizer, typed structurally so this package does not import @dl/bert.
 */
import { ChainsError } from '../errors.js';
import type { TensorLike } from '../models/local.js';
import type { Embeddings } from './base.js';

/** A tensor the adapter disposes of after reading. */
interface OwnedTensor extends TensorLike {
  dispose?(): void;
}

/** What BertEmbeddings needs of a tokenizer (@dl/bert's BertTokenizer fits). */
export interface BertLikeTokenizer<T extends OwnedTensor = OwnedTensor> {
  encodeBatch(texts: readonly string[], opts: { maxLength?: number; truncation?: boolean }): { inputIds: T; attentionMask: T; tokenTypeIds?: T };
}

/** What BertEmbeddings needs of a model (@dl/bert's BertModel fits: `embed` is its mean pooling). */
export interface BertLikeModel<T extends OwnedTensor = OwnedTensor> {
  embed(inputIds: T, opts: { attentionMask?: T | null; tokenTypeIds?: T | null; normalize?: boolean }): OwnedTensor;
  training?: boolean;
  train?(mode?: boolean): unknown;
  readonly config?: { readonly maxPositionEmbeddings?: number };
}

export interface BertEmbeddingsFields<T extends OwnedTensor = OwnedTensor> {
  model: BertLikeModel<T>;
  tokenizer: BertLikeTokenizer<T>;
  /** the model's maxPositionEmbeddings, else 512: longer texts are truncated */
  maxLength?: number;
  /** 32: texts per forward pass */
  batchSize?: number;
  /** true: unit-length vectors, so dot products are cosine similarities */
  normalize?: boolean;
}

/**
 * Sentence embeddings from a BERT: each batch is tokenized (padded, truncated to maxLength), run
 * through the model in eval mode (its mode is restored after) and mean-pooled over the real
 * tokens (`BertModel.embed`, i.e. @dl/bert's meanPooling).
 *
 *   import { BertModel, BertTokenizer } from '@dl/bert';
 *   const embeddings = new BertEmbeddings({ model: await BertModel.fromPretrained(dir), tokenizer: await BertTokenizer.fromPretrained(dir) });
 *   const store = await MemoryVectorStore.fromDocuments(docs, embeddings);
 */
export class BertEmbeddings<T extends OwnedTensor = OwnedTensor> implements Embeddings {
  readonly maxLength: number;
  readonly batchSize: number;

  constructor(readonly fields: BertEmbeddingsFields<T>) {
    if (typeof fields?.model?.embed !== 'function') throw new ChainsError('BertEmbeddings', 'model must have embed(inputIds, { attentionMask, normalize }), as @dl/bert BertModel does');
    if (typeof fields.tokenizer?.encodeBatch !== 'function') throw new ChainsError('BertEmbeddings', 'tokenizer must have encodeBatch(texts, { maxLength, truncation }), as @dl/bert BertTokenizer does');
    this.maxLength = fields.maxLength ?? fields.model.config?.maxPositionEmbeddings ?? 512;
    this.batchSize = fields.batchSize ?? 32;
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1)) throw new ChainsError('BertEmbeddings', `batchSize must be an integer >= 1, got ${fields.batchSize}`);
  }

  async #embed(texts: string[]): Promise<number[][]> {
    const { model, tokenizer, normalize = true } = this.fields;
    const out: number[][] = [];
    const wasTraining = model.training === true;
    if (wasTraining) model.train?.(false); // no dropout at inference
    try {
      for (let i = 0; i < texts.length; i += this.batchSize) {
        const batch = tokenizer.encodeBatch(texts.slice(i, i + this.batchSize), { maxLength: this.maxLength, truncation: true });
        const e = model.embed(batch.inputIds, { attentionMask: batch.attentionMask, tokenTypeIds: batch.tokenTypeIds ?? null, normalize });
        try {
          const [B, H] = e.shape;
          const data = await e.data();
          for (let b = 0; b < B; b++) out.push(Array.from({ length: H }, (_, h) => data[b * H + h]));
        } finally {
          e.dispose?.();
          batch.inputIds.dispose?.();
          batch.attentionMask.dispose?.();
          batch.tokenTypeIds?.dispose?.();
        }
      }
    } finally {
      if (wasTraining) model.train?.(true);
    }
    return out;
  }

  embedDocuments(texts: string[]): Promise<number[][]> {
    return this.#embed(texts);
  }

  async embedQuery(text: string): Promise<number[]> {
    return (await this.#embed([text]))[0];
  }
}
