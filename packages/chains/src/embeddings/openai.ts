/** OpenAICompatibleEmbeddings: POST /embeddings on any OpenAI-compatible server. */
import { ChainsError } from '../errors.js';
import { OpenAIClient, type OpenAIClientOptions } from '../models/http.js';
import type { Embeddings } from './base.js';

export interface OpenAICompatibleEmbeddingsFields extends OpenAIClientOptions {
  /** the embedding model's name on the server */
  model: string;
  /** output size, for models that can shorten their vectors */
  dimensions?: number;
  /** 512: texts per request */
  batchSize?: number;
  /** true: newlines become spaces before embedding (as LangChain's OpenAIEmbeddings) */
  stripNewLines?: boolean;
  signal?: AbortSignal;
}

interface EmbeddingResponse {
  data?: { index: number; embedding: number[] | string }[];
}

/**
 * Embeddings from a server's `/embeddings` (OpenAI, vLLM, Ollama, `dl serve` with a BERT model),
 * with the same retries, timeouts and typed errors as ChatOpenAICompatible.
 *
 *   const embeddings = new OpenAICompatibleEmbeddings({ baseURL: 'http://localhost:8000/v1', model: 'bert-mini' });
 *   const vectors = await embeddings.embedDocuments(['Call me Ishmael.', 'Some years ago']);
 */
export class OpenAICompatibleEmbeddings implements Embeddings {
  readonly client: OpenAIClient;
  readonly batchSize: number;

  constructor(readonly fields: OpenAICompatibleEmbeddingsFields) {
    if (!fields?.model) throw new ChainsError('OpenAICompatibleEmbeddings', 'model is required (the embedding model name the server knows)');
    this.client = new OpenAIClient(fields);
    this.batchSize = fields.batchSize ?? 512;
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1)) throw new ChainsError('OpenAICompatibleEmbeddings', `batchSize must be an integer >= 1, got ${fields.batchSize}`);
  }

  async #embed(texts: string[]): Promise<number[][]> {
    const op = 'OpenAICompatibleEmbeddings.embed';
    const input = this.fields.stripNewLines === false ? texts : texts.map((t) => t.replace(/\n/g, ' '));
    const body = { model: this.fields.model, input, encoding_format: 'float', ...(this.fields.dimensions ? { dimensions: this.fields.dimensions } : {}) };
    const r = await this.client.json<EmbeddingResponse>(op, 'POST', '/embeddings', body, this.fields.signal);
    const data = r.data ?? [];
    if (data.length !== texts.length) throw new ChainsError(op, `asked for ${texts.length} embeddings, the server returned ${data.length}`);
    const out = new Array<number[]>(texts.length);
    for (const d of data) {
      if (!Array.isArray(d.embedding)) throw new ChainsError(op, `embedding ${d.index} is not a list of numbers (encoding_format float was asked for)`);
      out[d.index] = d.embedding;
    }
    return out;
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) out.push(...(await this.#embed(texts.slice(i, i + this.batchSize))));
    return out;
  }

  async embedQuery(text: string): Promise<number[]> {
    return (await this.#embed([text]))[0];
  }
}
