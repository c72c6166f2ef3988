import { describe, expect, it } from 'vitest';
import { Document, formatDocumentsAsString } from './document.js';
import { CharacterTextSplitter, RecursiveCharacterTextSplitter } from './text-splitter.js';

// expected outputs are LangChain.js's own (libs/langchain-textsplitters/src/tests/text_splitter.test.ts)
describe('CharacterTextSplitter', () => {
  it.each([
    ['foo bar baz 123', 7, 3, ['foo bar', 'bar baz', 'baz 123']],
    ['foo  bar', 2, 0, ['foo', 'bar']],
    ['foo bar baz a a', 3, 1, ['foo', 'bar', 'baz', 'a a']],
    ['a a foo bar baz', 3, 1, ['a a', 'foo', 'bar', 'baz']],
    ['foo bar baz 123', 1, 0, ['foo', 'bar', 'baz', '123']],
  ])('%j with chunkSize %i, overlap %i', async (text, chunkSize, chunkOverlap, want) => {
    expect(await new CharacterTextSplitter({ separator: ' ', chunkSize, chunkOverlap }).splitText(text)).toEqual(want);
  });

  it('names bad sizes', () => {
    expect(() => new CharacterTextSplitter({ chunkSize: 2, chunkOverlap: 4 })).toThrow('CharacterTextSplitter: chunkOverlap (4) must be less than chunkSize (2)');
    expect(() => new RecursiveCharacterTextSplitter({ chunkSize: 0 })).toThrow(/chunkSize must be an integer > 0, got 0/);
  });

  it('documents keep metadata and get line locations', async () => {
    const docs = await new CharacterTextSplitter({ separator: ' ', chunkSize: 3, chunkOverlap: 0 }).createDocuments(['foo bar', 'baz'], [{ source: '1' }, { source: '2' }]);
    const loc = { lines: { from: 1, to: 1 } };
    expect(docs).toEqual([new Document({ pageContent: 'foo', metadata: { source: '1', loc } }), new Document({ pageContent: 'bar', metadata: { source: '1', loc } }), new Document({ pageContent: 'baz', metadata: { source: '2', loc } })]);
  });
});

describe('RecursiveCharacterTextSplitter', () => {
  it('splits paragraphs, then lines, then words (LangChain.js test case)', async () => {
    const text = `Hi.\n\nI'm Harrison.\n\nHow? Are? You?\nOkay then f f f f.
This is a weird text to write, but gotta test the splittingggg some how.\n\n
Bye!\n\n-H.`;
    const out = await new RecursiveCharacterTextSplitter({ chunkSize: 10, chunkOverlap: 1 }).splitText(text);
    expect(out).toEqual(['Hi.', "I'm", 'Harrison.', 'How? Are?', 'You?', 'Okay then', 'f f f f.', 'This is a', 'weird', 'text to', 'write,', 'but gotta', 'test the', 'splitting', 'gggg', 'some how.', 'Bye!', '-H.']);
  });

  it('one short text is one chunk; line numbers follow the chunks', async () => {
    const splitter = new RecursiveCharacterTextSplitter({ chunkSize: 100, chunkOverlap: 0 });
    const line = `${'A'.repeat(69)}\n`;
    expect(await splitter.createDocuments([line])).toEqual([new Document({ pageContent: line.trim(), metadata: { loc: { lines: { from: 1, to: 1 } } } })]);
    const docs = await new RecursiveCharacterTextSplitter({ chunkSize: 12, chunkOverlap: 0 }).createDocuments(['one line\ntwo line\n\nthree\nfour line']);
    expect(docs.map((d) => [d.pageContent, d.metadata.loc])).toEqual([
      ['one line', { lines: { from: 1, to: 1 } }],
      ['two line', { lines: { from: 2, to: 2 } }],
      ['three', { lines: { from: 4, to: 4 } }],
      ['four line', { lines: { from: 5, to: 5 } }],
    ]);
  });

  it('overlap carries the end of a chunk into the next; custom separators and lengths', async () => {
    const out = await new RecursiveCharacterTextSplitter({ chunkSize: 20, chunkOverlap: 8 }).splitText('the white whale swims under the sea today');
    expect(out).toEqual(['the white whale', 'whale swims under', 'under the sea today']);
    expect(out.every((c) => c.length <= 20)).toBe(true);
    const sentences = await new RecursiveCharacterTextSplitter({ chunkSize: 5, chunkOverlap: 0, separators: ['. ', ''], keepSeparator: false, lengthFunction: (t) => t.split(' ').length }).splitText('Call me Ishmael. Some years ago. Never mind how long');
    expect(sentences).toEqual(['Call me Ishmael', 'Some years ago', 'Never mind how long']);
    expect(formatDocumentsAsString([new Document({ pageContent: 'a' }), new Document({ pageContent: 'b' })])).toBe('a\n\nb');
  });
});
