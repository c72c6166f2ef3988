/** StringOutputParser and CommaSeparatedListOutputParser. */
import { BaseOutputParser, BaseTransformOutputParser, inputText, type ParserInput } from './base.js';
import type { RunContext, RunnableConfig } from '../runnables/index.js';

/**
 * The text of a model's answer (a message's content). Streams the text pieces.
 *
 *   const chain = prompt.pipe(model).pipe(new StringOutputParser());
 *   for await (const piece of chain.stream({ topic: 'whales' })) process.stdout.write(piece);
 */
export class StringOutputParser extends BaseTransformOutputParser<string> {
  async parse(text: string): Promise<string> {
    return text;
  }
  protected parsePiece(text: string): string {
    return text;
  }
}

/**
 * A comma-separated answer as a list of trimmed items. Its stream yields each item (as a
 * one-item array) once the comma after it arrives.
 *
 *   await new CommaSeparatedListOutputParser().parse('red, green ,blue'); // ['red', 'green', 'blue']
 */
export class CommaSeparatedListOutputParser extends BaseOutputParser<string[]> {
  async parse(text: string): Promise<string[]> {
    return text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  override getFormatInstructions(): string {
    return 'Your response should be a list of comma separated values, eg: `foo, bar, baz`';
  }

  protected override async *_transform(inputs: AsyncIterable<ParserInput>, _config: RunnableConfig, _run: RunContext): AsyncGenerator<string[]> {
    let buffer = '';
    for await (const chunk of inputs) {
      buffer += inputText(chunk, 'CommaSeparatedListOutputParser.transform');
      const parts = buffer.split(',');
      buffer = parts.pop()!;
      for (const p of parts) if (p.trim()) yield [p.trim()];
    }
    if (buffer.trim()) yield [buffer.trim()];
  }
}
