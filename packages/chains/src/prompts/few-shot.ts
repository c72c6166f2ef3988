/** Few-shot prompts: worked examples before the question, as text or as chat turns. */
import { InputError } from '../errors.js';
import { StringPromptValue, type BaseMessage } from '../messages/index.js';
import { BasePromptTemplate, checkVariables, type BasePromptTemplateInput, type InputValues, type PartialValue } from './base.js';
import type { ChatPromptTemplate, MessagePromptPart } from './chat.js';
import type { PromptTemplate } from './prompt.js';
import { renderTemplate, templateVariables, type TemplateFormat } from './template.js';

export type Example = Record<string, unknown>;

/** Picks the examples for an input (e.g. the most similar ones). */
export interface ExampleSelector {
  selectExamples(input: InputValues): Promise<Example[]>;
}

/** Fixed examples, or a selector: exactly one. */
function examplesFor(op: string, examples: Example[] | undefined, selector: ExampleSelector | undefined, values: InputValues): Promise<Example[]> {
  if (examples && !selector) return Promise.resolve(examples);
  if (selector && !examples) return selector.selectExamples(values);
  throw new InputError(op, 'give exactly one of examples and exampleSelector');
}

export interface FewShotPromptTemplateInput extends BasePromptTemplateInput {
  examples?: Example[];
  exampleSelector?: ExampleSelector;
  /** formats each example */
  examplePrompt: PromptTemplate;
  /** '': a template before the examples */
  prefix?: string;
  /** '': a template after the examples (usually the question) */
  suffix?: string;
  /** '\n\n' */
  exampleSeparator?: string;
  templateFormat?: TemplateFormat;
}

/**
 * A text prompt of a prefix, formatted examples and a suffix, joined by exampleSeparator. The
 * input variables are those of the prefix and suffix.
 *
 *   const prompt = new FewShotPromptTemplate({
 *     examples: [{ word: 'happy', antonym: 'sad' }, { word: 'tall', antonym: 'short' }],
 *     examplePrompt: PromptTemplate.fromTemplate('Word: {word}\nAntonym: {antonym}'),
 *     prefix: 'Give the antonym of every word.',
 *     suffix: 'Word: {input}\nAntonym:',
 *   });
 *   await prompt.format({ input: 'big' });
 */
export class FewShotPromptTemplate extends BasePromptTemplate<StringPromptValue> {
  readonly examples?: Example[];
  readonly exampleSelector?: ExampleSelector;
  readonly examplePrompt: PromptTemplate;
  readonly prefix: string;
  readonly suffix: string;
  readonly exampleSeparator: string;
  readonly templateFormat: TemplateFormat;

  constructor(readonly fields: FewShotPromptTemplateInput) {
    super(fields);
    this.examples = fields.examples;
    this.exampleSelector = fields.exampleSelector;
    this.examplePrompt = fields.examplePrompt;
    this.prefix = fields.prefix ?? '';
    this.suffix = fields.suffix ?? '';
    this.exampleSeparator = fields.exampleSeparator ?? '\n\n';
    this.templateFormat = fields.templateFormat ?? 'f-string';
    if (!this.examples === !this.exampleSelector) throw new InputError('FewShotPromptTemplate', 'give exactly one of examples and exampleSelector');
    const used = [...new Set([...templateVariables(this.prefix, this.templateFormat), ...templateVariables(this.suffix, this.templateFormat)])];
    this.inputVariables = checkVariables('FewShotPromptTemplate', used, fields.inputVariables, this.partialVariables);
  }

  override async format(values: InputValues): Promise<string> {
    const all = await this.mergePartialAndUserVariables(values);
    const examples = await examplesFor('FewShotPromptTemplate', this.examples, this.exampleSelector, all);
    const shown = await Promise.all(examples.map((e) => this.examplePrompt.format(e)));
    // prefix and suffix are rendered alone: the formatted examples are text, braces and all
    const render = (t: string) => (t ? [renderTemplate(t, this.templateFormat, all)] : []);
    return [...render(this.prefix), ...shown, ...render(this.suffix)].join(this.exampleSeparator);
  }

  async formatPromptValue(values: InputValues): Promise<StringPromptValue> {
    return new StringPromptValue(await this.format(values));
  }

  async partial(values: Record<string, PartialValue>): Promise<FewShotPromptTemplate> {
    return new FewShotPromptTemplate({ ...this.fields, inputVariables: undefined, partialVariables: { ...this.partialVariables, ...values } });
  }
}

export interface FewShotChatMessagePromptTemplateInput {
  examples?: Example[];
  exampleSelector?: ExampleSelector;
  /** formats each example to messages (usually a human turn and an AI turn) */
  examplePrompt: ChatPromptTemplate;
  /** variables the selector needs from the input (none for fixed examples) */
  inputVariables?: string[];
}

/**
 * Examples as chat turns, to place inside a ChatPromptTemplate.
 *
 *   const fewShot = new FewShotChatMessagePromptTemplate({
 *     examples: [{ input: '2+2', output: '4' }],
 *     examplePrompt: ChatPromptTemplate.fromMessages([['human', '{input}'], ['ai', '{output}']]),
 *   });
 *   ChatPromptTemplate.fromMessages([['system', 'You do sums.'], fewShot, ['human', '{input}']]);
 */
export class FewShotChatMessagePromptTemplate implements MessagePromptPart {
  readonly inputVariables: readonly string[];

  constructor(readonly fields: FewShotChatMessagePromptTemplateInput) {
    if (!fields.examples === !fields.exampleSelector) throw new InputError('FewShotChatMessagePromptTemplate', 'give exactly one of examples and exampleSelector');
    this.inputVariables = fields.inputVariables ?? [];
  }

  async formatMessages(values: InputValues): Promise<BaseMessage[]> {
    const examples = await examplesFor('FewShotChatMessagePromptTemplate', this.fields.examples, this.fields.exampleSelector, values);
    const out: BaseMessage[] = [];
    for (const e of examples) out.push(...(await this.fields.examplePrompt.formatMessages(e)));
    return out;
  }
}
