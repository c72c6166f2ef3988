import { describe, expect, it } from 'vitest';
import { OutputParserError, ValidationError } from '../errors.js';
import { AIMessage, AIMessageChunk } from '../messages/index.js';
import { RunnableLambda } from '../runnables/index.js';
import { s } from '../schema/schema.js';
import { CommaSeparatedListOutputParser, JsonOutputParser, StringOutputParser, StructuredOutputParser } from './index.js';

async function* pieces<T>(xs: T[]): AsyncGenerator<T> {
  for (const x of xs) yield x;
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('StringOutputParser', () => {
  it('takes text or a message, and streams message chunks as text', async () => {
    const p = new StringOutputParser();
    expect(await p.invoke(new AIMessage('hi'))).toBe('hi');
    expect(await p.invoke('hi')).toBe('hi');
    expect(await all(p.transform(pieces([new AIMessageChunk('Call '), new AIMessageChunk('me')])))).toEqual(['Call ', 'me']);
    await expect(p.invoke(42 as never)).rejects.toThrow(/expected text or a message, got number/);
  });
});

describe('JsonOutputParser', () => {
  it('parses fenced JSON and JSON after prose; names bad JSON', async () => {
    const p = new JsonOutputParser();
    expect(await p.invoke('```json\n{"a": [1, 2]}\n```')).toEqual({ a: [1, 2] });
    expect(await p.invoke(new AIMessage('Sure! {"a": true}'))).toEqual({ a: true });
    const err = (await p.invoke('{"a": }').catch((e: unknown) => e)) as OutputParserError;
    expect(err).toBeInstanceOf(OutputParserError);
    expect(err.output).toBe('{"a": }');
    expect(err.message).toMatch(/^JsonOutputParser\.parse: the model's answer is not valid JSON/);
  });

  it('streams growing partial objects, through fences', async () => {
    const text = '```json\n{"name": "Ahab", "ships": ["Pequod", "Rachel"]}\n```';
    const chunks = text.match(/.{1,3}/gs)!;
    const out = await all(new JsonOutputParser().transform(pieces(chunks)));
    expect(out[0]).toEqual({});
    expect(out).toContainEqual({ name: 'Aha' });
    expect(out).toContainEqual({ name: 'Ahab', ships: ['Pequod'] });
    expect(out.at(-1)).toEqual({ name: 'Ahab', ships: ['Pequod', 'Rachel'] });
    // no two chunks in a row are the same
    expect(new Set(out.map((o) => JSON.stringify(o))).size).toBe(out.length);
  });

  it('a step after a streaming JSON parser gets the final object, not joined partials', async () => {
    const chain = new JsonOutputParser<{ a: string }>().pipe((o: { a: string }) => o.a.length);
    expect(await all(chain.transform(pieces(['{"a": "x', 'yz"}'])))).toEqual([3]);
  });

  it('a stream that ends in bad JSON fails at the end', async () => {
    await expect(all(new JsonOutputParser().transform(pieces(['{"a": 1', ', "b": ]'])))).rejects.toBeInstanceOf(OutputParserError);
  });
});

describe('StructuredOutputParser', () => {
  const parser = StructuredOutputParser.fromSchema(s.object({ answer: s.string(), confidence: s.number({ minimum: 0, maximum: 1 }) }));

  it('validates, naming the field', async () => {
    expect(await parser.parse('{"answer": "Ahab", "confidence": 0.9}')).toEqual({ answer: 'Ahab', confidence: 0.9 });
    const err = await parser.parse('{"answer": "Ahab", "confidence": 9}').catch((e) => e);
    expect(err).toBeInstanceOf(OutputParserError);
    expect(err.message).toBe("StructuredOutputParser.parse: the model's JSON does not fit the schema: $.confidence: must be <= 1, got 9");
    expect(err.cause).toBeInstanceOf(ValidationError);
    expect(err.cause.path).toBe('$.confidence');
    await expect(parser.parse('{"confidence": 0.5}')).rejects.toThrow('$.answer: required field missing');
  });

  it('format instructions carry the JSON Schema; names and descriptions', () => {
    expect(parser.getFormatInstructions()).toContain('"required":["answer","confidence"]');
    const p = StructuredOutputParser.fromNamesAndDescriptions({ answer: 'the answer', source: 'a URL' });
    expect(p.getFormatInstructions()).toContain('"source":{"type":"string","description":"a URL"}');
  });

  it('streams partials and checks the whole value at the end', async () => {
    const out = await all(parser.transform(pieces(['{"answer": "A', 'hab", "confidence": 0.5}'])));
    expect(out.at(-1)).toEqual({ answer: 'Ahab', confidence: 0.5 });
    await expect(all(parser.transform(pieces(['{"answer": "A', 'hab"}'])))).rejects.toThrow('$.confidence: required field missing');
  });
});

describe('CommaSeparatedListOutputParser', () => {
  it('parses and streams items as they complete', async () => {
    const p = new CommaSeparatedListOutputParser();
    expect(await p.parse(' red, green ,blue,')).toEqual(['red', 'green', 'blue']);
    expect(await all(p.transform(pieces(['re', 'd, gr', 'een, bl', 'ue'])))).toEqual([['red'], ['green'], ['blue']]);
    const chain = RunnableLambda.from((x: string) => x).pipe(p);
    expect(await chain.invoke('a,b')).toEqual(['a', 'b']);
  });
});
