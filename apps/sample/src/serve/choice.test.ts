import { JsonDecoder, TokenVocabulary } from '@dl/chains';
import { CharTokenizer } from '@dl/transformer';
import { describe, expect, it } from 'vitest';
import { toolCallSchema } from './chat-template.js';
import { Choice, type Constraint } from './choice.js';
import type { TextModel } from './models.js';
import type { SamplingParams } from './params.js';

const tok = new CharTokenizer(' "(),-.0123456789:abcdefghijklmnopqrstuvwxyz{}');
const vocab = TokenVocabulary.fromTokenizer(tok);
const model = { tokenizer: tok, eos: [], vocabulary: () => vocab } as unknown as TextModel;
const params: SamplingParams = { model: 'm', maxTokens: null, temperature: 0, topP: 1, n: 1, stop: [], seed: 0, stream: false, includeUsage: false, logitBias: new Map(), presencePenalty: 0, frequencyPenalty: 0 };
const tools = [{ name: 'go', parameters: { type: 'object', properties: { to: { enum: ['north', 'south'] } }, required: ['to'] } }];

/** Decodes greedily with logits that prefer the characters of `wish` in turn (a stand-in model). */
function run(constraint: Constraint, wish: string, maxTokens = 60, extra: Partial<SamplingParams> = {}): Choice {
  const c = new Choice({ index: 0, prompt: [0], model, params: { ...params, ...extra }, maxTokens, stops: ['zz'], constraint, trimLeadingSpace: true, signal: new AbortController().signal });
  for (let step = 0; ; step++) {
    const logits = new Float32Array(tok.vocabSize);
    const want = wish[step % wish.length];
    logits[tok.encode(want)[0]] = 5;
    const t = c.next(logits);
    if (!c.accept(t)) break;
  }
  c.end();
  return c;
}

const tool = (auto: boolean): Constraint => ({ kind: 'tool', decoder: new JsonDecoder(toolCallSchema(tools), vocab, { maxTokens: 60 }), auto });

describe('Choice', () => {
  it('tool_choice auto: a reply that starts with { is a tool call (made valid by the mask), any other is text', () => {
    const call = run(tool(true), '{"name":"go","arguments":{"to":"west"}}');
    expect(call.finishReason).toBe('tool_calls');
    expect(call.toolCall!.name).toBe('go');
    expect(['north', 'south']).toContain((JSON.parse(call.toolCall!.arguments) as { to: string }).to);
    const text = run(tool(true), ' hello zz');
    expect(text.toolCall).toBeNull();
    expect(text.text).toBe('hello ');
    expect(text.finishReason).toBe('stop');
  });

  it('required: even a model that wants text writes the call; max_tokens ends free text with length', () => {
    const forced = run(tool(false), 'hello');
    expect(forced.finishReason).toBe('tool_calls');
    expect(JSON.parse(forced.text)).toMatchObject({ name: 'go' });
    const long = run({ kind: 'none' }, 'abc', 7);
    expect(long).toMatchObject({ text: 'abcabca', finishReason: 'length', completionTokens: 7 });
  });

  it('logit_bias and penalties move the choice before the mask', () => {
    const b = tok.encode('b')[0];
    expect(run({ kind: 'none' }, 'a', 3, { logitBias: new Map([[b, 10]]) }).text).toBe('bbb');
    // a: 5, b: 0 + 4; each use of a token costs it 2: a (5 > 4), b (3 < 4), a (3 > 2)
    expect(run({ kind: 'none' }, 'a', 3, { logitBias: new Map([[b, 4]]), frequencyPenalty: 2 }).text).toBe('aba');
    expect(run({ kind: 'none' }, 'a', 3, { logitBias: new Map([[b, 4]]) }).text).toBe('aaa');
  });
});
