/** Embeddings: texts to vectors, for similarity search. */

/**
 * Turns texts into vectors. `embedDocuments` for what is stored, `embedQuery` for what is
 * searched with (some models embed the two differently).
 *
 *   const [v] = await embeddings.embedDocuments(['Call me Ishmael.']);
 *   const q = await embeddings.embedQuery('Who narrates?');
 */
export interface Embeddings {
  embedDocuments(texts: string[]): Promise<number[][]>;
  embedQuery(text: string): Promise<number[]>;
}

/**
 * The cosine similarity of two vectors (0 when either is all zeros).
 *
 *   cosineSimilarity([1, 0], [1, 1]); // 0.7071...
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
