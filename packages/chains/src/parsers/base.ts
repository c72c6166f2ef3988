/** Output parsers: the last step of a chain, turning a model's text into the value you want. */
import { OutputParserError } from '../errors.js';
import { BaseMessage } from '../messages/index.js';
import { Runnable, type RunContext, type RunnableConfig, type RunType } from '../runnables/index.js';

/** What a parser takes: text, or a message (its content is parsed). */
export type ParserInput = string | BaseMessage;

/** The text of a parser's input. */
export function inputText(input: ParserInput, op: string): string {
  if (typeof input === 'string') return input;
  if (input instanceof BaseMessage) return input.content;
  throw new OutputParserError(op, `expected text or a message, got ${input === null ? 'null' : typeof input}`, String(input));
}

/**
 * Base class of parsers: implement `parse(text)`; `getFormatInstructions()` is text to put in the
 * prompt so the model answers in the parser's format.
 */
export abstract class BaseOutputParser<T> extends Runnable<ParserInput, T> {
  protected override runType: RunType = 'parser';

  abstract parse(text: string): Promise<T>;

  getFormatInstructions(): string {
    return '';
  }

  protected override _invoke(input: ParserInput, _config: RunnableConfig, _run: RunContext): Promise<T> {
    return this.parse(inputText(input, `${this.getName()}.parse`));
  }
}

/**
 * A parser that streams: each piece of text is parsed as it comes (`parsePiece`), so a chain
 * ending in it streams.
 */
export abstract class BaseTransformOutputParser<T> extends BaseOutputParser<T> {
  protected abstract parsePiece(text: string): T;

  protected override async *_transform(inputs: AsyncIterable<ParserInput>, _config: RunnableConfig, _run: RunContext): AsyncGenerator<T> {
    for await (const chunk of inputs) yield this.parsePiece(inputText(chunk, `${this.getName()}.transform`));
  }
}

/**
 * A parser whose stream yields the whole value parsed so far each time it grows (partial JSON
 * objects, ...); the text is parsed strictly once the stream ends.
 */
export abstract class BaseCumulativeTransformOutputParser<T> extends BaseOutputParser<T> {
  /** The value of unfinished text, or undefined while there is none yet. */
  protected abstract parsePartial(text: string): T | undefined;

  override get cumulativeChunks(): boolean {
    return true;
  }

  protected override async *_transform(inputs: AsyncIterable<ParserInput>, _config: RunnableConfig, _run: RunContext): AsyncGenerator<T> {
    let text = '';
    let last: string | undefined;
    for await (const chunk of inputs) {
      text += inputText(chunk, `${this.getName()}.transform`);
      const value = this.parsePartial(text);
      if (value === undefined) continue;
      const key = JSON.stringify(value);
      if (key === last) continue;
      last = key;
      yield value;
    }
    const final = await this.parse(text);
    if (JSON.stringify(final) !== last) yield final;
  }
}
