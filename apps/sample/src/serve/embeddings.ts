/** POST /v1/embeddings (a BERT folder, mean-pooled) and GET /v1/models. */
import { noGrad } from '@dl/autograd';
import { scope } from '@dl/tensor';
import { HttpError, badParam } from './errors.js';
import type { EmbeddingModel } from './models.js';
import type { ServerContext } from './generate.js';
import { parseEmbeddingRequest } from './params.js';

/** Inputs per forward pass (padded to the longest of them). */
const CHUNK = 16;

/** POST /v1/embeddings: one mean-pooled, unit-length vector per input (cosine similarity = dot product). */
export async function embeddings(ctx: ServerContext, body: unknown): Promise<unknown> {
  const req = parseEmbeddingRequest(body);
  const m = ctx.models.get(req.model);
  if (!m) throw new HttpError(404, `The model '${req.model}' does not exist (served: ${[...ctx.models.keys()].join(', ')})`, { param: 'model', code: 'model_not_found' });
  if (m.kind !== 'embedding') throw badParam('model', `The model '${req.model}' is a text model; embeddings come from a BERT folder served with --model NAME=DIR`, 'model_not_supported');
  const H = m.model.config.hiddenSize;
  if (req.dimensions !== null && req.dimensions !== H) throw badParam('dimensions', `model '${m.name}' gives ${H} dimensions; dimensions ${req.dimensions} is not supported`);
  const max = m.model.config.maxPositionEmbeddings;
  let tokens = 0;
  req.inputs.forEach((text, i) => {
    const n = m.tokenizer.encode(text).inputIds.length;
    if (n > max) throw badParam('input', `input ${i} is ${n} tokens; model '${m.name}' takes at most ${max} (its maxPositionEmbeddings)`, 'context_length_exceeded');
    tokens += n;
  });
  const vectors: Float32Array[] = [];
  for (let i = 0; i < req.inputs.length; i += CHUNK) {
    // each chunk is one turn of the engine, between other requests' decoding steps
    vectors.push(...(await ctx.engine.run(() => embedChunk(m, req.inputs.slice(i, i + CHUNK)))));
  }
  return {
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: req.encoding === 'base64' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v) })),
    model: m.name,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

async function embedChunk(m: EmbeddingModel, texts: string[]): Promise<Float32Array[]> {
  const device = m.model.embeddings.wordEmbeddings.weight.device;
  const e = noGrad(() =>
    scope(() => {
      const { inputIds, tokenTypeIds, attentionMask } = m.tokenizer.encodeBatch(texts, { device });
      return m.model.embed(inputIds, { attentionMask, tokenTypeIds, normalize: true }); // (B, H)
    }),
  );
  const data = Float32Array.from(await e.data());
  e.dispose();
  const H = m.model.config.hiddenSize;
  return texts.map((_, b) => data.slice(b * H, (b + 1) * H));
}

/** GET /v1/models */
export function listModels(ctx: ServerContext): unknown {
  return { object: 'list', data: [...ctx.models.values()].map((m) => modelInfo(m)) };
}

export function modelInfo(m: { name: string; created: number }): unknown {
  return { id: m.name, object: 'model', created: m.created, owned_by: 'dl' };
}
