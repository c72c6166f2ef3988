/** Retrieval-augmented generation: documents in the prompt, and the chain that fetches them. */
import { InputError } from '../errors.js';
import type { Document } from '../documents/document.js';
import { StringOutputParser } from '../parsers/index.js';
import { PromptTemplate, type BasePromptTemplate } from '../prompts/index.js';
import { RunnablePassthrough, RunnableSequence, type Runnable, type RunnableConfig } from '../runnables/index.js';

export interface StuffDocumentsChainFields<O> {
  /** a chat model or an LLM */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  llm: Runnable<any, any>;
  /** must use the documentVariableName variable (default `context`) */
  prompt: BasePromptTemplate;
  /** StringOutputParser: turns the model's answer into the output */
  outputParser?: Runnable<unknown, O>;
  /** how each document is written: '{page_content}' (metadata keys are variables too) */
  documentPrompt?: PromptTemplate;
  /** '\n\n' */
  documentSeparator?: string;
  /** 'context' */
  documentVariableName?: string;
}

/**
 * A chain that puts all the documents of `input.context` into the prompt ("stuffs" them) and asks
 * the model.
 *
 *   const prompt = ChatPromptTemplate.fromMessages([['system', 'Answer from this context:\n\n{context}'], ['human', '{input}']]);
 *   const combine = createStuffDocumentsChain({ llm: model, prompt });
 *   await combine.invoke({ input: 'Who is Ahab?', context: docs });
 */
export function createStuffDocumentsChain<O = string>({ llm, prompt, outputParser, documentPrompt = PromptTemplate.fromTemplate('{page_content}'), documentSeparator = '\n\n', documentVariableName = 'context' }: StuffDocumentsChainFields<O>): Runnable<Record<string, unknown>, O> {
  if (!prompt.inputVariables.includes(documentVariableName)) {
    throw new InputError('createStuffDocumentsChain', `the prompt must use the variable "${documentVariableName}" for the documents (its variables: ${prompt.inputVariables.join(', ') || 'none'})`, documentVariableName);
  }
  const format = async (input: Record<string, unknown>): Promise<string> => {
    const docs = input[documentVariableName];
    if (!Array.isArray(docs)) throw new InputError('createStuffDocumentsChain', `input.${documentVariableName} must be an array of documents, got ${typeof docs}`, documentVariableName);
    const parts = await Promise.all((docs as Document[]).map((d) => documentPrompt.format({ ...d.metadata, page_content: d.pageContent })));
    return parts.join(documentSeparator);
  };
  return RunnableSequence.from<Record<string, unknown>, O>([RunnablePassthrough.assign({ [documentVariableName]: format }), prompt, llm, outputParser ?? new StringOutputParser()], 'StuffDocumentsChain');
}

/** createRetrievalChain's output: the input, the documents found, the answer. */
export interface RetrievalChainOutput<A> {
  input: string;
  context: Document[];
  answer: A;
  [key: string]: unknown;
}

/**
 * A retrieval-augmented QA chain: retrieves documents for `input.input`, then runs the combining
 * chain on the input with them as `context`. Streams `{ answer: piece }` chunks after the input and
 * context.
 *
 *   const rag = createRetrievalChain({ retriever: store.asRetriever(3), combineDocsChain: combine });
 *   const { answer, context } = await rag.invoke({ input: 'Who is Ahab?' });
 */
export function createRetrievalChain<A = string>({ retriever, combineDocsChain }: { retriever: Runnable<string, Document[]>; combineDocsChain: Runnable<Record<string, unknown>, A> }): Runnable<{ input: string; [key: string]: unknown }, RetrievalChainOutput<A>> {
  const retrieve = (x: Record<string, unknown>, config: RunnableConfig) => {
    if (typeof x?.input !== 'string') throw new InputError('createRetrievalChain', `the input must be an object with a string "input" (the question), got ${JSON.stringify(x)?.slice(0, 80)}`, 'input');
    return retriever.invoke(x.input, config);
  };
  return RunnableSequence.from([RunnablePassthrough.assign({ context: retrieve }), RunnablePassthrough.assign({ answer: combineDocsChain })], 'RetrievalChain') as unknown as Runnable<{ input: string }, RetrievalChainOutput<A>>;
}
