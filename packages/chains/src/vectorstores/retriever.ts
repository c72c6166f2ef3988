/** Retrievers: a query in, relevant documents out. */
import type { Document } from '../documents/document.js';
import { Runnable, type RunContext, type RunnableConfig, type RunType } from '../runnables/index.js';

/**
 * Base class of retrievers: implement `_getRelevantDocuments`. Invoking one reports to the
 * retriever callbacks.
 *
 *   const docs = await retriever.invoke('Who is Ahab?');
 */
export abstract class BaseRetriever extends Runnable<string, Document[]> {
  protected override runType: RunType = 'retriever';

  protected abstract _getRelevantDocuments(query: string, config: RunnableConfig): Promise<Document[]>;

  protected override _invoke(query: string, config: RunnableConfig, _run: RunContext): Promise<Document[]> {
    return this._getRelevantDocuments(query, config);
  }
}
