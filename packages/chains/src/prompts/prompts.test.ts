import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { AIMessage, HumanMessage, SystemMessage, StringPromptValue, ChatPromptValue } from '../messages/index.js';
import { ChatPromptTemplate, FewShotChatMessagePromptTemplate, FewShotPromptTemplate, MessagesPlaceholder, PromptTemplate, renderTemplate, templateVariables } from './index.js';

describe('templates', () => {
  it('f-strings: variables, doubled braces, errors at the bad brace', () => {
    expect(templateVariables('Tell {who} about {topic}, {who}', 'f-string')).toEqual(['who', 'topic']);
    expect(renderTemplate('{{"json": {v}}}', 'f-string', { v: 1 })).toBe('{"json": 1}');
    expect(() => renderTemplate('a } b', 'f-string', {})).toThrow(/single '}' at index 2/);
    expect(() => renderTemplate('a {oops', 'f-string', {})).toThrow(/unclosed or empty '\{' at index 2/);
  });

  it('mustache: variables, dotted paths, sections over lists, inverted sections, comments', () => {
    const t = '{{! hidden }}Q: {{q}} by {{user.name}}\n{{#docs}}- {{title}} ({{user.name}})\n{{/docs}}{{^docs}}no docs{{/docs}}';
    expect(templateVariables(t, 'mustache')).toEqual(['q', 'user', 'docs']);
    expect(renderTemplate(t, 'mustache', { q: 'Who?', user: { name: 'I' }, docs: [{ title: 'a' }, { title: 'b' }] })).toBe('Q: Who? by I\n- a (I)\n- b (I)\n');
    expect(renderTemplate(t, 'mustache', { q: 'Who?', user: { name: 'I' }, docs: [] })).toBe('Q: Who? by I\nno docs');
    expect(renderTemplate('{{#xs}}<{{.}}>{{/xs}}', 'mustache', { xs: [1, 2] })).toBe('<1><2>');
    expect(renderTemplate('{{{raw}}} & {{raw}}', 'mustache', { raw: '<b>' })).toBe('<b> & <b>');
    expect(() => templateVariables('{{#a}}x{{/b}}', 'mustache')).toThrow(/closes \{\{\/b\}\}/);
    expect(() => templateVariables('{{#a}}x', 'mustache')).toThrow(/never closes \{\{#a\}\}/);
  });
});

describe('PromptTemplate', () => {
  it('formats, validates input naming the missing variable, takes a bare value for one variable', async () => {
    const p = PromptTemplate.fromTemplate('Tell me about {topic} in {n} words');
    expect(p.inputVariables).toEqual(['topic', 'n']);
    expect(await p.format({ topic: 'whales', n: 5 })).toBe('Tell me about whales in 5 words');
    const err = await p.format({ topic: 'whales' }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.variable).toBe('n');
    expect(err.message).toMatch(/missing value for input variable "n" \(needs "topic", "n"; got "topic"\)/);
    const one = PromptTemplate.fromTemplate('Echo {x}');
    expect(await one.invoke('hi' as never)).toEqual(new StringPromptValue('Echo hi'));
    await expect(p.invoke('hi' as never)).rejects.toThrow(/input must be an object of the variables "topic", "n"/);
  });

  it('partials: fixed and computed, with the input variables updated', async () => {
    const p = await PromptTemplate.fromTemplate('{greeting}, {name}. Today is {day}.').partial({ greeting: 'Hello', day: () => 'Monday' });
    expect(p.inputVariables).toEqual(['name']);
    expect(await p.format({ name: 'Ishmael' })).toBe('Hello, Ishmael. Today is Monday.');
    const q = new PromptTemplate({ template: '{a}{b}', inputVariables: ['a'], partialVariables: { b: '!' } });
    expect(await q.format({ a: 'x' })).toBe('x!');
  });

  it('declared input variables must match the template', () => {
    expect(() => new PromptTemplate({ template: '{a} {b}', inputVariables: ['a'] })).toThrow(/uses "b", not among inputVariables/);
    expect(() => new PromptTemplate({ template: '{a}', inputVariables: ['a', 'c'] })).toThrow(/inputVariables "c" are not used/);
  });

  it('mustache prompts', async () => {
    const p = PromptTemplate.fromTemplate('{{#items}}* {{.}}\n{{/items}}{{q}}', { templateFormat: 'mustache' });
    expect(await p.format({ items: ['a', 'b'], q: '?' })).toBe('* a\n* b\n?');
  });
});

describe('ChatPromptTemplate', () => {
  it('formats roles, placeholders and fixed messages', async () => {
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'You are a {role}.'],
      new MessagesPlaceholder('history'),
      new SystemMessage('{not a template}'),
      ['human', '{question}'],
      ['placeholder', '{scratch}'],
    ]);
    expect(prompt.inputVariables).toEqual(['role', 'history', 'question']);
    const msgs = await prompt.formatMessages({ role: 'sailor', history: [['human', 'hi'], new AIMessage('ahoy')], question: 'Where?' });
    expect(msgs.map((m) => [m.getType(), m.content])).toEqual([
      ['system', 'You are a sailor.'],
      ['human', 'hi'],
      ['ai', 'ahoy'],
      ['system', '{not a template}'],
      ['human', 'Where?'],
    ]);
    const v = await prompt.invoke({ role: 'x', history: [], question: 'q', scratch: [new AIMessage('thinking')] });
    expect(v).toBeInstanceOf(ChatPromptValue);
    expect(v.toString()).toBe('System: You are a x.\nSystem: {not a template}\nHuman: q\nAI: thinking');
  });

  it('names the missing variable and a placeholder that is not a list', async () => {
    const prompt = ChatPromptTemplate.fromMessages([new MessagesPlaceholder('history'), ['human', '{q}']]);
    await expect(prompt.formatMessages({ q: 'x' })).rejects.toThrow(/missing value for input variable "history"/);
    await expect(prompt.formatMessages({ q: 'x', history: 'oops' })).rejects.toThrow(/"history" must be an array of messages/);
    await expect(prompt.formatMessages({ q: 'x', history: [42] })).rejects.toThrow(/"history"\[0\] is not a message/);
    expect(() => ChatPromptTemplate.fromMessages([['wizard' as never, 'x']])).toThrow(/unknown role "wizard"/);
  });

  it('partials and fromTemplate', async () => {
    const p = await ChatPromptTemplate.fromMessages([['system', 'Speak {lang}.'], ['human', '{q}']]).partial({ lang: 'French' });
    expect(p.inputVariables).toEqual(['q']);
    expect((await p.formatMessages({ q: 'hi' }))[0].content).toBe('Speak French.');
    expect(await ChatPromptTemplate.fromTemplate('Sum {t}').formatMessages({ t: 'x' })).toEqual([new HumanMessage('Sum x')]);
  });
});

describe('few-shot', () => {
  it('FewShotPromptTemplate joins prefix, examples and suffix; example braces stay literal', async () => {
    const prompt = new FewShotPromptTemplate({
      examples: [{ word: 'happy', antonym: 'sad' }, { word: '{x}', antonym: '{y}' }],
      examplePrompt: PromptTemplate.fromTemplate('Word: {word}\nAntonym: {antonym}'),
      prefix: 'Antonyms, {style}.',
      suffix: 'Word: {input}\nAntonym:',
    });
    expect(prompt.inputVariables).toEqual(['style', 'input']);
    expect(await prompt.format({ style: 'briefly', input: 'big' })).toBe('Antonyms, briefly.\n\nWord: happy\nAntonym: sad\n\nWord: {x}\nAntonym: {y}\n\nWord: big\nAntonym:');
    const selected = new FewShotPromptTemplate({
      exampleSelector: { selectExamples: async (v) => [{ word: String(v.input).toUpperCase(), antonym: '?' }] },
      examplePrompt: PromptTemplate.fromTemplate('{word}->{antonym}'),
      suffix: '{input}->',
      exampleSeparator: '\n',
    });
    expect(await selected.format({ input: 'up' })).toBe('UP->?\nup->');
  });

  it('FewShotChatMessagePromptTemplate puts example turns in a chat prompt', async () => {
    const fewShot = new FewShotChatMessagePromptTemplate({
      examples: [{ input: '2+2', output: '4' }, { input: '2+3', output: '5' }],
      examplePrompt: ChatPromptTemplate.fromMessages([['human', '{input}'], ['ai', '{output}']]),
    });
    const prompt = ChatPromptTemplate.fromMessages([['system', 'You do sums.'], fewShot, ['human', '{input}']]);
    const msgs = await prompt.formatMessages({ input: '3+3' });
    expect(msgs.map((m) => `${m.getType()}:${m.content}`)).toEqual(['system:You do sums.', 'human:2+2', 'ai:4', 'human:2+3', 'ai:5', 'human:3+3']);
  });
});
