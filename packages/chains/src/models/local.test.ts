import { describe, expect, it } from 'vitest';
import { manualSeed } from '@dl/tensor';
import { CharTokenizer, GPT } from '@dl/transformer';
import { ConstraintError } from '../constrained/index.js';
import { AbortError, ChainsError, InputError } from '../errors.js';
import { HumanMessage, SystemMessage } from '../messages/index.js';
import { StringOutputParser } from '../parsers/index.js';
import { PromptTemplate } from '../prompts/index.js';
import { s } from '../schema/schema.js';
import { LocalChatModel, LocalLLM, type LocalCausalLM, type LocalGenerateOptions, type LocalTokenizer } from './local.js';

const text = "Call me Ishmael. Some years ago, never mind how long precisely. Human: AI: System: Who? Ahab!\n";
const tok = CharTokenizer.fromText(text);

function tinyGPT(): GPT {
  manualSeed(0);
  return new GPT({ vocabSize: tok.vocabSize, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 });
}

async function all(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('LocalLLM with a real @dl/transformer GPT', () => {
  const gpt = tinyGPT();
  const llm = new LocalLLM({ model: gpt, tokenizer: tok, maxNewTokens: 12, temperature: 0 });

  it('greedy: the continuation GPT.generate gives; streams the same text piece by piece', async () => {
    const out = await llm.invoke('Call me');
    const ids = await (await gpt.generate(tok.encode('Call me'), { maxNewTokens: 12, temperature: 0 })).data();
    expect(out).toBe(tok.decode([...ids].slice(7)));
    expect(out).toHaveLength(12);
    const pieces = await all(llm.stream('Call me'));
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(out);
  });

  it('cuts at a stop string, per call or fixed', async () => {
    const out = await llm.invoke('Call me');
    const stop = out.slice(5, 7);
    const want = out.slice(0, out.indexOf(stop));
    expect(await llm.invoke('Call me', { stop: [stop] })).toBe(want);
    expect((await all(llm.stream('Call me', { stop: [stop] }))).join('')).toBe(want);
    expect(await new LocalLLM({ model: gpt, tokenizer: tok, maxNewTokens: 12, temperature: 0, stop: [stop] }).invoke('Call me')).toBe(want);
  });

  it('a seed makes sampling repeat; maxTokens per call', async () => {
    const sampler = new LocalLLM({ model: gpt, tokenizer: tok, maxNewTokens: 10, temperature: 1, seed: 3 });
    const a = await sampler.invoke('Ahab');
    expect(await sampler.invoke('Ahab')).toBe(a);
    expect(await sampler.invoke('Ahab', { seed: 4 })).not.toBe(a);
    expect(await sampler.invoke('Ahab', { maxTokens: 3 })).toHaveLength(3);
  });

  it('in a chain: prompt | LocalLLM | parser', async () => {
    const chain = PromptTemplate.fromTemplate('Who? {name}').pipe(llm).pipe(new StringOutputParser());
    expect(await chain.invoke({ name: 'Ahab' })).toBe(await llm.invoke('Who? Ahab'));
  });

  it('long prompts keep their last tokens, or fail with truncate: error; unknown characters are named', async () => {
    const long = 'Call me Ishmael. '.repeat(4);
    expect(await llm.invoke(long)).toHaveLength(12);
    const strict = new LocalLLM({ model: gpt, tokenizer: tok, truncate: 'error' });
    await expect(strict.invoke(long)).rejects.toThrow(new InputError('LocalLLM.invoke', "the prompt is 68 tokens, past the model's context of 32"));
    await expect(llm.invoke('Call me Z')).rejects.toThrow(/character "Z" \(U\+005A\) at index 8 is not in the vocabulary/);
    await expect(llm.invoke('')).rejects.toThrow(/encodes to no tokens/);
  });
});

describe('LocalChatModel with a real GPT', () => {
  const gpt = tinyGPT();
  const chat = new LocalChatModel({ model: gpt, tokenizer: tok, maxNewTokens: 8, temperature: 0 });

  it('prompts with the transcript and answers an AIMessage with token usage', async () => {
    const msgs = [new SystemMessage('Who?'), new HumanMessage('Ahab!')];
    const msg = await chat.invoke(msgs);
    const llmText = await new LocalLLM({ model: gpt, tokenizer: tok, maxNewTokens: 8, temperature: 0, stop: ['\nHuman:', '\nSystem:'] }).invoke('System: Who?\nHuman: Ahab!\nAI:');
    expect(msg.content).toBe(llmText);
    expect(msg.usageMetadata?.inputTokens).toBe('System: Who?\nHuman: Ahab!\nAI:'.length);
    expect(msg.usageMetadata!.outputTokens).toBeLessThanOrEqual(8);
    const chunks = [];
    for await (const c of chat.stream(msgs)) chunks.push(c);
    expect(chunks.reduce((a, b) => a.concat(b)).content).toBe(msg.content);
  });

  it('refuses tools, saying why', async () => {
    await expect(chat.bindTools([{ name: 'f', schema: s.object({}) }]).invoke('hi')).rejects.toThrow(/cannot be made to call tools/);
  });
});

describe('LocalChatModel responseFormat by constrained decoding', () => {
  const jsonTok = CharTokenizer.fromText(`${text}{}[]":,-.0123456789abcdefghijklmnopqrstuvwxyz`);
  manualSeed(3);
  const gpt = new GPT({ vocabSize: jsonTok.vocabSize, blockSize: 64, nLayer: 1, nHead: 2, nEmbd: 16 });
  const chat = new LocalChatModel({ model: gpt, tokenizer: jsonTok, maxNewTokens: 60, temperature: 1 });
  const Sailor = s.object({ name: s.string({ maxLength: 8 }), rank: s.enum(['captain', 'mate']), age: s.integer() });

  it('withStructuredOutput: a random GPT answers a value of the schema, for every seed', async () => {
    for (const seed of [1, 2, 3]) {
      const who = await new LocalChatModel({ ...chat.fields, seed }).withStructuredOutput(Sailor).invoke('Who?');
      expect(Sailor.parse(who)).toEqual(who);
      expect(Object.keys(who).sort()).toEqual(['age', 'name', 'rank']);
    }
  });

  it('json_schema streams the same JSON it invokes, ends when the value is whole, and stop strings do not cut it', async () => {
    const responseFormat = { type: 'json_schema' as const, json_schema: { name: 'sailor', schema: Sailor.toJSONSchema() } };
    const msg = await chat.invoke('Who?', { responseFormat, seed: 4, stop: ['"'] });
    expect(Sailor.parse(JSON.parse(msg.content))).toBeTruthy();
    expect(msg.responseMetadata.finishReason).toBe('stop');
    expect(msg.usageMetadata!.outputTokens).toBe(msg.content.length); // one character per token, nothing after the closing brace
    const chunks = [];
    for await (const c of chat.stream('Who?', { responseFormat, seed: 4, stop: ['"'] })) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.reduce((x, y) => x.concat(y)).content).toBe(msg.content);
  });

  it('json_object: a JSON object closed within maxTokens', async () => {
    for (const maxTokens of [2, 9]) {
      const msg = await chat.invoke('Who?', { responseFormat: { type: 'json_object' }, maxTokens, seed: 5 });
      const value: unknown = JSON.parse(msg.content);
      expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
      expect(msg.content.length).toBeLessThanOrEqual(maxTokens);
    }
  });

  it('a tokenizer that cannot write the JSON, or has no vocabSize, is an error saying so', async () => {
    const plain = new LocalChatModel({ model: tinyGPT(), tokenizer: tok, maxNewTokens: 8 });
    await expect(plain.withStructuredOutput(Sailor).invoke('Who?')).rejects.toThrow(ConstraintError);
    const noSize: LocalTokenizer = { encode: (t) => jsonTok.encode(t), decode: (ids) => jsonTok.decode(ids) };
    await expect(new LocalChatModel({ model: gpt, tokenizer: noSize }).invoke('Who?', { responseFormat: { type: 'json_object' } })).rejects.toThrow(/needs the tokenizer's vocabSize/);
  });
});

/** A structural model that "generates" the ids of a fixed text, one per step, counting steps. */
function scripted(answer: string, t: LocalTokenizer): LocalCausalLM & { steps: number } {
  const m = {
    steps: 0,
    async *stream(_idx: number[][], opts: LocalGenerateOptions) {
      for (const id of t.encode(answer).slice(0, opts.maxNewTokens)) {
        m.steps++;
        await new Promise((r) => setTimeout(r, 1));
        yield [id];
      }
    },
  };
  return m;
}

describe('LocalLLM with any structural model', () => {
  it('holds back text that may start a stop string until it knows', async () => {
    const model = scripted('Hello\nHum\nHuman: more', tok);
    const pieces = await all(new LocalLLM({ model, tokenizer: tok, stop: ['\nHuman:'] }).stream('C'));
    // "\nHum" is streamed only once the next "\n" shows it is not "\nHuman:"
    expect(pieces).toEqual(['H', 'e', 'l', 'l', 'o', '\nHum']);
    expect(model.steps).toBe('Hello\nHum\nHuman:'.length);
  });

  it('stops at a stop token id', async () => {
    const model = scripted('Ahab!Call', tok);
    expect(await new LocalLLM({ model, tokenizer: tok, stopTokenIds: tok.encode('!') }).invoke('C')).toBe('Ahab');
  });

  it('works with a model that only has generate', async () => {
    const model: LocalCausalLM = { generate: async (idx, opts) => [[...idx[0], ...tok.encode('Who? Ahab').slice(0, opts.maxNewTokens)]] };
    expect(await new LocalLLM({ model, tokenizer: tok, stop: [' '] }).invoke('Call')).toBe('Who?');
    await expect(new LocalLLM({ model: {} as LocalCausalLM, tokenizer: tok }).invoke('C')).rejects.toThrow(/must have stream\(idx, opts\) or generate/);
  });

  it('an abort stops the generation itself', async () => {
    const model = scripted('Call me Ishmael. Some years ago', tok);
    const ac = new AbortController();
    const err = await (async () => {
      for await (const _ of new LocalLLM({ model, tokenizer: tok }).stream('C', { signal: ac.signal })) if (model.steps === 3) ac.abort();
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    await new Promise((r) => setTimeout(r, 30));
    expect(model.steps).toBeLessThanOrEqual(4);
  });
});
