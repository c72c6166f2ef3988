import { afterEach, describe, expect, it } from 'vitest';
import { ChainsError, InputError } from '../errors.js';
import { createRetrievalChain, createStuffDocumentsChain } from '../chains/retrieval.js';
import { Document } from '../documents/document.js';
import { cosineSimilarity, type Embeddings } from '../embeddings/base.js';
import { OpenAICompatibleEmbeddings } from '../embeddings/openai.js';
import { FakeListChatModel } from '../models/fake.js';
import { sendJSON, startTestServer, type TestServer } from '../models/test-server.js';
import { ChatPromptTemplate, PromptTemplate } from '../prompts/index.js';
import type { CallbackHandler } from '../runnables/index.js';
import { MemoryVectorStore } from './memory.js';

/** Letter counts: texts sharing letters are similar (enough to test ranking). */
class LetterEmbeddings implements Embeddings {
  calls = 0;
  async embedDocuments(texts: string[]): Promise<number[][]> {
    this.calls++;
    return texts.map((t) => this.#vec(t));
  }
  async embedQuery(text: string): Promise<number[]> {
    return this.#vec(text);
  }
  #vec(t: string): number[] {
    const v = new Array(26).fill(0);
    for (const c of t.toLowerCase()) if (c >= 'a' && c <= 'z') v[c.charCodeAt(0) - 97]++;
    return v;
  }
}

const docs = [
  new Document({ pageContent: 'aaaa', metadata: { book: 'x', n: 1 } }),
  new Document({ pageContent: 'aaab', metadata: { book: 'y', n: 2 } }),
  new Document({ pageContent: 'zzzz', metadata: { book: 'x', n: 3 } }),
  new Document({ pageContent: 'aabb', metadata: { book: 'x', n: 4 } }),
];

describe('MemoryVectorStore', () => {
  it('ranks by cosine similarity, with k and a metadata filter (object or function)', async () => {
    const store = await MemoryVectorStore.fromDocuments(docs, new LetterEmbeddings());
    const scored = await store.similaritySearchWithScore('a', 4);
    expect(scored.map(([d]) => d.pageContent)).toEqual(['aaaa', 'aaab', 'aabb', 'zzzz']);
    expect(scored[1][1]).toBeCloseTo(cosineSimilarity([1], [3]) * 3 / Math.sqrt(10), 10);
    expect((await store.similaritySearch('a', 2)).map((d) => d.pageContent)).toEqual(['aaaa', 'aaab']);
    expect((await store.similaritySearch('a', 2, { book: 'x' })).map((d) => d.metadata.n)).toEqual([1, 4]);
    expect((await store.similaritySearch('a', 9, { n: [2, 3] })).map((d) => d.metadata.n)).toEqual([2, 3]);
    expect((await store.similaritySearch('a', 9, (d) => (d.metadata.n as number) > 2)).map((d) => d.metadata.n)).toEqual([4, 3]);
    await expect(store.similaritySearch('a', 0)).rejects.toThrow(InputError);
  });

  it('mmr trades similarity for diversity', async () => {
    const store = await MemoryVectorStore.fromTexts(['aaaa', 'aaaa a', 'aabb'], {}, new LetterEmbeddings());
    expect((await store.maxMarginalRelevanceSearch('a', { k: 2, lambda: 0.3 })).map((d) => d.pageContent)).toEqual(['aaaa', 'aabb']);
    expect((await store.maxMarginalRelevanceSearch('a', { k: 2, lambda: 1 })).map((d) => d.pageContent)).toEqual(['aaaa', 'aaaa a']);
  });

  it('ids: given, kept on update, deleted; dimension mismatches are named', async () => {
    const store = new MemoryVectorStore(new LetterEmbeddings());
    expect(await store.addDocuments([new Document({ pageContent: 'ab', id: 'one' }), new Document({ pageContent: 'cd' })])).toEqual(['one', '0']);
    await store.addDocuments([new Document({ pageContent: 'zz', id: 'one' })]);
    expect(store.memoryVectors.map((m) => [m.id, m.content])).toEqual([
      ['one', 'zz'],
      ['0', 'cd'],
    ]);
    await store.delete({ ids: ['one'] });
    expect(store.memoryVectors).toHaveLength(1);
    await expect(store.addVectors([[1, 2]], [new Document({ pageContent: 'x' })])).rejects.toThrow(new ChainsError('MemoryVectorStore.addVectors', "vector 0 has 2 dimensions, the store's have 26"));
    await expect(store.similaritySearchVectorWithScore([1], 1)).rejects.toThrow(/query vector has 1 dimensions, the store's have 26/);
  });

  it('asRetriever is a Runnable reporting to the retriever callbacks', async () => {
    const store = await MemoryVectorStore.fromDocuments(docs, new LetterEmbeddings());
    const seen: string[] = [];
    const cb: CallbackHandler = { onRetrieverStart: (_r, q) => void seen.push(`start ${q}`), onRetrieverEnd: (_r, d) => void seen.push(`end ${(d as Document[]).length}`) };
    const got = await store.asRetriever({ k: 1, filter: { book: 'y' } }).invoke('a', { callbacks: [cb] });
    expect(got.map((d) => d.metadata.n)).toEqual([2]);
    expect(seen).toEqual(['start a', 'end 1']);
    expect((await store.asRetriever({ k: 2, searchType: 'mmr', searchKwargs: { lambda: 0.1 } }).invoke('a')).map((d) => d.pageContent)).toEqual(['aaaa', 'zzzz']);
  });
});

describe('retrieval chains', () => {
  it('stuffs the retrieved documents into the prompt and returns input, context and answer', async () => {
    const store = await MemoryVectorStore.fromDocuments(docs, new LetterEmbeddings());
    const model = new FakeListChatModel({ responses: ['It is aaaa.'] });
    const prompt = ChatPromptTemplate.fromMessages([['system', 'Context:\n{context}'], ['human', '{input}']]);
    const combine = createStuffDocumentsChain({ llm: model, prompt, documentPrompt: PromptTemplate.fromTemplate('[{n}] {page_content}') });
    const rag = createRetrievalChain({ retriever: store.asRetriever(2), combineDocsChain: combine });
    const out = await rag.invoke({ input: 'a?' });
    expect(out.answer).toBe('It is aaaa.');
    expect(out.context.map((d) => d.pageContent)).toEqual(['aaaa', 'aaab']);
    expect(model.calls[0].messages[0].content).toBe('Context:\n[1] aaaa\n\n[2] aaab');
    await expect(rag.invoke({ question: 'a?' } as never)).rejects.toThrow(/string "input"/);
    expect(() => createStuffDocumentsChain({ llm: model, prompt: ChatPromptTemplate.fromTemplate('{input}') })).toThrow(/must use the variable "context"/);
  });

  it('streams the answer after the input and context', async () => {
    const store = await MemoryVectorStore.fromDocuments(docs, new LetterEmbeddings());
    const rag = createRetrievalChain({ retriever: store.asRetriever(1), combineDocsChain: createStuffDocumentsChain({ llm: new FakeListChatModel({ responses: ['yes'] }), prompt: ChatPromptTemplate.fromTemplate('{context} {input}') }) });
    const chunks: Record<string, unknown>[] = [];
    for await (const c of rag.stream({ input: 'z' })) chunks.push(c);
    expect(chunks[0]).toEqual({ input: 'z' });
    expect((chunks[1].context as Document[])[0].pageContent).toBe('zzzz');
    expect(chunks.slice(-3)).toEqual([{ answer: 'y' }, { answer: 'e' }, { answer: 's' }]);
  });
});

describe('OpenAICompatibleEmbeddings over HTTP', () => {
  let server: TestServer | undefined;
  afterEach(async () => server?.close());

  it('batches requests and orders vectors by index', async () => {
    server = await startTestServer((req, res) => {
      const input = req.body!.input as string[];
      // answer in reverse order: the client must sort by index
      sendJSON(res, 200, { object: 'list', data: input.map((t, i) => ({ object: 'embedding', index: i, embedding: [t.length, i] })).reverse(), usage: { prompt_tokens: 1, total_tokens: 1 } });
    });
    const e = new OpenAICompatibleEmbeddings({ baseURL: server.baseURL, model: 'bert', batchSize: 2, dimensions: 2 });
    expect(await e.embedDocuments(['a', 'bb', 'ccc'])).toEqual([
      [1, 0],
      [2, 1],
      [3, 0],
    ]);
    expect(await e.embedQuery('line\nbreak')).toEqual([10, 0]);
    expect(server.requests.map((r) => r.body)).toEqual([
      { model: 'bert', input: ['a', 'bb'], encoding_format: 'float', dimensions: 2 },
      { model: 'bert', input: ['ccc'], encoding_format: 'float', dimensions: 2 },
      { model: 'bert', input: ['line break'], encoding_format: 'float', dimensions: 2 },
    ]);
  });

  it('names a server that returns the wrong number of vectors', async () => {
    server = await startTestServer((_req, res) => sendJSON(res, 200, { data: [] }));
    await expect(new OpenAICompatibleEmbeddings({ baseURL: server.baseURL, model: 'bert' }).embedQuery('x')).rejects.toThrow('asked for 1 embeddings, the server returned 0');
  });
});
