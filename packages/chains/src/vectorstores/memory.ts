/** MemoryVectorStore: documents and their embeddings in memory, searched by cosine similarity. */
import { ChainsError, InputError } from '../errors.js';
import { Document, type Metadata } from '../documents/document.js';
import { cosineSimilarity, type Embeddings } from '../embeddings/base.js';
import type { RunnableConfig } from '../runnables/index.js';
import { BaseRetriever } from './retriever.js';

/**
 * Which documents a search may return: a predicate, or metadata values to match (a key's value
 * equal to the filter's, or, for an array in the filter, one of its values).
 */
export type VectorStoreFilter = ((doc: Document) => boolean) | Metadata;

interface StoredVector {
  id: string;
  content: string;
  metadata: Metadata;
  embedding: number[];
}

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

function matches(filter: VectorStoreFilter | undefined, doc: Document): boolean {
  if (!filter) return true;
  if (typeof filter === 'function') return filter(doc);
  return Object.entries(filter).every(([k, want]) => (Array.isArray(want) ? want.some((w) => same(doc.metadata[k], w)) : same(doc.metadata[k], want)));
}

function checkK(op: string, k: number): void {
  if (!(Number.isInteger(k) && k >= 1)) throw new InputError(op, `k must be an integer >= 1, got ${k}`, 'k');
}

export interface MaxMarginalRelevanceOptions {
  /** 4: documents returned */
  k?: number;
  /** 20: candidates fetched by similarity before picking */
  fetchK?: number;
  /** 0.5: 1 is pure similarity, 0 pure diversity */
  lambda?: number;
  filter?: VectorStoreFilter;
}

/**
 * A vector store in memory: documents are embedded when added; searches rank them by cosine
 * similarity to the query's embedding, optionally filtered by metadata.
 *
 *   const store = await MemoryVectorStore.fromDocuments(docs, embeddings);
 *   await store.similaritySearch('the white whale', 2, { chapter: 41 });
 *   const retriever = store.asRetriever({ k: 3 });
 */
export class MemoryVectorStore {
  readonly memoryVectors: StoredVector[] = [];
  #nextId = 0;

  constructor(readonly embeddings: Embeddings) {}

  /** Embeds and stores documents; resolves to their ids (the documents' own, given, or made). */
  async addDocuments(documents: readonly Document[], options: { ids?: string[] } = {}): Promise<string[]> {
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent));
    return this.addVectors(vectors, documents, options);
  }

  /** Stores documents with embeddings made elsewhere. */
  async addVectors(vectors: readonly number[][], documents: readonly Document[], { ids }: { ids?: string[] } = {}): Promise<string[]> {
    const op = 'MemoryVectorStore.addVectors';
    if (vectors.length !== documents.length) throw new ChainsError(op, `got ${vectors.length} vectors for ${documents.length} documents`);
    if (ids && ids.length !== documents.length) throw new ChainsError(op, `got ${ids.length} ids for ${documents.length} documents`);
    const dim = this.memoryVectors[0]?.embedding.length ?? vectors[0]?.length;
    const out: string[] = [];
    vectors.forEach((v, i) => {
      if (v.length !== dim) throw new ChainsError(op, `vector ${i} has ${v.length} dimensions, the store's have ${dim}`);
      const id = ids?.[i] ?? documents[i].id ?? String(this.#nextId++);
      const at = this.memoryVectors.findIndex((m) => m.id === id);
      const entry = { id, content: documents[i].pageContent, metadata: documents[i].metadata, embedding: [...v] };
      if (at >= 0) this.memoryVectors[at] = entry;
      else this.memoryVectors.push(entry);
      out.push(id);
    });
    return out;
  }

  /** Removes documents by id. */
  async delete({ ids }: { ids: string[] }): Promise<void> {
    const drop = new Set(ids);
    for (let i = this.memoryVectors.length - 1; i >= 0; i--) if (drop.has(this.memoryVectors[i].id)) this.memoryVectors.splice(i, 1);
  }

  #ranked(query: number[], filter: VectorStoreFilter | undefined): { doc: Document; score: number; embedding: number[] }[] {
    const dim = this.memoryVectors[0]?.embedding.length;
    if (dim !== undefined && query.length !== dim) throw new ChainsError('MemoryVectorStore.similaritySearch', `the query vector has ${query.length} dimensions, the store's have ${dim}`);
    return this.memoryVectors
      .map((m) => ({ doc: new Document({ pageContent: m.content, metadata: m.metadata, id: m.id }), embedding: m.embedding }))
      .filter(({ doc }) => matches(filter, doc))
      .map((r) => ({ ...r, score: cosineSimilarity(query, r.embedding) }))
      .sort((a, b) => b.score - a.score);
  }

  /** The k documents most similar to a vector, with their cosine similarities, best first. */
  async similaritySearchVectorWithScore(query: number[], k = 4, filter?: VectorStoreFilter): Promise<[Document, number][]> {
    checkK('MemoryVectorStore.similaritySearch', k);
    return this.#ranked(query, filter)
      .slice(0, k)
      .map((r) => [r.doc, r.score]);
  }

  /** The k documents most similar to a query, with their cosine similarities, best first. */
  async similaritySearchWithScore(query: string, k = 4, filter?: VectorStoreFilter): Promise<[Document, number][]> {
    return this.similaritySearchVectorWithScore(await this.embeddings.embedQuery(query), k, filter);
  }

  /**
   * The k documents most similar to a query, best first.
   *
   *   await store.similaritySearch('Who is Ahab?', 3, (doc) => doc.metadata.chapter > 20);
   */
  async similaritySearch(query: string, k = 4, filter?: VectorStoreFilter): Promise<Document[]> {
    return (await this.similaritySearchWithScore(query, k, filter)).map(([d]) => d);
  }

  /**
   * k documents similar to the query but not to each other (maximal marginal relevance): picked
   * one at a time from the fetchK most similar, each maximising
   * lambda * sim(query, d) - (1 - lambda) * max sim(d, picked).
   */
  async maxMarginalRelevanceSearch(query: string, { k = 4, fetchK = 20, lambda = 0.5, filter }: MaxMarginalRelevanceOptions = {}): Promise<Document[]> {
    checkK('MemoryVectorStore.maxMarginalRelevanceSearch', k);
    const candidates = this.#ranked(await this.embeddings.embedQuery(query), filter).slice(0, Math.max(k, fetchK));
    const picked: typeof candidates = [];
    while (picked.length < k && candidates.length) {
      let best = 0;
      let bestScore = -Infinity;
      candidates.forEach((c, i) => {
        const redundancy = picked.length ? Math.max(...picked.map((p) => cosineSimilarity(c.embedding, p.embedding))) : 0;
        const score = lambda * c.score - (1 - lambda) * redundancy;
        if (score > bestScore) [best, bestScore] = [i, score];
      });
      picked.push(...candidates.splice(best, 1));
    }
    return picked.map((p) => p.doc);
  }

  /** A store of these texts (metadata by index). */
  static async fromTexts(texts: readonly string[], metadatas: readonly Metadata[] | Metadata, embeddings: Embeddings): Promise<MemoryVectorStore> {
    const docs = texts.map((t, i) => new Document({ pageContent: t, metadata: Array.isArray(metadatas) ? (metadatas[i] ?? {}) : (metadatas as Metadata) }));
    return MemoryVectorStore.fromDocuments(docs, embeddings);
  }

  /** A store of these documents. */
  static async fromDocuments(documents: readonly Document[], embeddings: Embeddings): Promise<MemoryVectorStore> {
    const store = new MemoryVectorStore(embeddings);
    await store.addDocuments(documents);
    return store;
  }

  /**
   * A retriever over this store: a Runnable from a query to its documents.
   *
   *   const retriever = store.asRetriever({ k: 2, filter: { book: 'Moby-Dick' } });
   */
  asRetriever(options: number | VectorStoreRetrieverOptions = {}): VectorStoreRetriever {
    return new VectorStoreRetriever({ vectorStore: this, ...(typeof options === 'number' ? { k: options } : options) });
  }
}

export interface VectorStoreRetrieverOptions {
  /** 4: documents per query */
  k?: number;
  filter?: VectorStoreFilter;
  /** 'similarity' (default) or 'mmr' (maxMarginalRelevanceSearch) */
  searchType?: 'similarity' | 'mmr';
  /** mmr's fetchK and lambda */
  searchKwargs?: Pick<MaxMarginalRelevanceOptions, 'fetchK' | 'lambda'>;
}

/** A retriever that searches a MemoryVectorStore. */
export class VectorStoreRetriever extends BaseRetriever {
  readonly vectorStore: MemoryVectorStore;
  readonly k: number;
  readonly filter?: VectorStoreFilter;
  readonly searchType: 'similarity' | 'mmr';
  readonly searchKwargs: Pick<MaxMarginalRelevanceOptions, 'fetchK' | 'lambda'>;

  constructor(fields: VectorStoreRetrieverOptions & { vectorStore: MemoryVectorStore }) {
    super();
    this.vectorStore = fields.vectorStore;
    this.k = fields.k ?? 4;
    checkK('VectorStoreRetriever', this.k);
    this.filter = fields.filter;
    this.searchType = fields.searchType ?? 'similarity';
    this.searchKwargs = fields.searchKwargs ?? {};
  }

  protected override _getRelevantDocuments(query: string, _config: RunnableConfig): Promise<Document[]> {
    if (typeof query !== 'string') throw new InputError('VectorStoreRetriever.invoke', `the query must be a string, got ${query === null ? 'null' : typeof query}`);
    if (this.searchType === 'mmr') return this.vectorStore.maxMarginalRelevanceSearch(query, { k: this.k, filter: this.filter, ...this.searchKwargs });
    return this.vectorStore.similaritySearch(query, this.k, this.filter);
  }
}
