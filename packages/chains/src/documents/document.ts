/** Document: a piece of text with metadata (its source, its place in the source). */

export type Metadata = Record<string, unknown>;

/**
 * A text and what is known about it.
 *
 *   new Document({ pageContent: 'Call me Ishmael.', metadata: { chapter: 1 } });
 */
export class Document<M extends Metadata = Metadata> {
  pageContent: string;
  metadata: M;
  id?: string;

  constructor({ pageContent, metadata, id }: { pageContent: string; metadata?: M; id?: string }) {
    this.pageContent = typeof pageContent === 'string' ? pageContent : String(pageContent);
    this.metadata = metadata ?? ({} as M);
    if (id !== undefined) this.id = id;
  }
}

/**
 * Documents' texts joined with a blank line (what goes into a prompt's context).
 *
 *   formatDocumentsAsString(docs); // 'first text\n\nsecond text'
 */
export function formatDocumentsAsString(documents: readonly Document[], separator = '\n\n'): string {
  return documents.map((d) => d.pageContent).join(separator);
}
