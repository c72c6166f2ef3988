import { describe, expect, it } from 'vitest';
import { extractJsonText, parsePartialJson } from './json.js';

describe('parsePartialJson', () => {
  it.each([
    ['{"name": "Ah', { name: 'Ah' }],
    ['{"a": 1, "b', { a: 1 }],
    ['{"a": 1, "b": ', { a: 1 }],
    ['{"a": tr', {}],
    ['[1, 2, tr', [1, 2]],
    ['{"a": {"b": [1, {"c": "x', { a: { b: [1, { c: 'x' }] } }],
    ['{"a": "x\\', { a: 'x' }],
    ['{"a": "say \\"hi', { a: 'say "hi' }],
    ['{"a": 12', { a: 12 }],
    ['{"a": "}", "b": [', { a: '}', b: [] }],
    ['{', {}],
    ['', undefined],
    ['{"a": 1}}', { a: 1 }],
    ['{"a": [1]}\n``', { a: [1] }],
  ])('%j -> %j', (text, want) => {
    expect(parsePartialJson(text)).toEqual(want);
  });
});

describe('extractJsonText', () => {
  it('takes the body of a fence, closed or not, or the JSON after prose', () => {
    expect(extractJsonText('```json\n{"a": 1}\n```')).toBe('{"a": 1}');
    expect(extractJsonText('Here:\n```\n[1]\n```\nbye')).toBe('[1]');
    expect(extractJsonText('```json\n{"a": ')).toBe('{"a":');
    expect(extractJsonText('Sure! {"a": 1}')).toBe('{"a": 1}');
    expect(extractJsonText('  {"a": 1} ')).toBe('{"a": 1}');
    expect(extractJsonText('"just a string"')).toBe('"just a string"');
  });
});
