/** ChatPromptTemplate: a list of message templates, fixed messages and placeholders for message lists. */
import { InputError } from '../errors.js';
import { AIMessage, BaseMessage, ChatPromptValue, HumanMessage, SystemMessage, coerceMessageLike, type BaseMessageLike, type MessageRole } from '../messages/index.js';
import { BasePromptTemplate, checkVariables, type BasePromptTemplateInput, type InputValues, type PartialValue } from './base.js';
import { renderTemplate, templateVariables, type TemplateFormat } from './template.js';

/** A part of a chat prompt that formats to messages. */
export interface MessagePromptPart {
  /** the variables this part needs */
  readonly inputVariables: readonly string[];
  formatMessages(values: InputValues): Promise<BaseMessage[]>;
}

type MessageClass = new (content: string) => BaseMessage;

/** One message whose text is a template. */
abstract class MessageStringPromptTemplate implements MessagePromptPart {
  readonly inputVariables: readonly string[];
  protected abstract readonly messageClass: MessageClass;

  constructor(
    readonly template: string,
    readonly templateFormat: TemplateFormat = 'f-string',
  ) {
    this.inputVariables = templateVariables(template, templateFormat);
  }

  async formatMessages(values: InputValues): Promise<BaseMessage[]> {
    return [new this.messageClass(renderTemplate(this.template, this.templateFormat, values))];
  }
}

/**
 * A human message from a template.
 *
 *   HumanMessagePromptTemplate.fromTemplate('{question}');
 */
export class HumanMessagePromptTemplate extends MessageStringPromptTemplate {
  protected readonly messageClass = HumanMessage;
  static fromTemplate(template: string, { templateFormat }: { templateFormat?: TemplateFormat } = {}): HumanMessagePromptTemplate {
    return new HumanMessagePromptTemplate(template, templateFormat);
  }
}

/**
 * A system message from a template.
 *
 *   SystemMessagePromptTemplate.fromTemplate('You answer in {language}.');
 */
export class SystemMessagePromptTemplate extends MessageStringPromptTemplate {
  protected readonly messageClass = SystemMessage;
  static fromTemplate(template: string, { templateFormat }: { templateFormat?: TemplateFormat } = {}): SystemMessagePromptTemplate {
    return new SystemMessagePromptTemplate(template, templateFormat);
  }
}

/**
 * An AI message from a template (for few-shot turns).
 *
 *   AIMessagePromptTemplate.fromTemplate('{answer}');
 */
export class AIMessagePromptTemplate extends MessageStringPromptTemplate {
  protected readonly messageClass = AIMessage;
  static fromTemplate(template: string, { templateFormat }: { templateFormat?: TemplateFormat } = {}): AIMessagePromptTemplate {
    return new AIMessagePromptTemplate(template, templateFormat);
  }
}

/**
 * Where a list of messages from the input goes (chat history, an agent's scratchpad). Its value
 * must be an array of message-likes; `optional` ones may be left out.
 *
 *   ChatPromptTemplate.fromMessages([['system', 'Be brief.'], new MessagesPlaceholder('history'), ['human', '{input}']]);
 */
export class MessagesPlaceholder implements MessagePromptPart {
  readonly variableName: string;
  readonly optional: boolean;

  constructor(fields: string | { variableName: string; optional?: boolean }) {
    const f = typeof fields === 'string' ? { variableName: fields } : fields;
    this.variableName = f.variableName;
    this.optional = f.optional ?? false;
  }

  get inputVariables(): readonly string[] {
    return this.optional ? [] : [this.variableName];
  }

  async formatMessages(values: InputValues): Promise<BaseMessage[]> {
    const v = values[this.variableName];
    const op = `MessagesPlaceholder("${this.variableName}")`;
    if (v === undefined) {
      if (this.optional) return [];
      throw new InputError(op, `missing value for input variable "${this.variableName}" (a list of messages)`, this.variableName);
    }
    if (!Array.isArray(v)) throw new InputError(op, `"${this.variableName}" must be an array of messages, got ${typeof v}`, this.variableName);
    return v.map((m, i) => {
      try {
        return coerceMessageLike(m as BaseMessageLike, op);
      } catch (e) {
        throw new InputError(op, `"${this.variableName}"[${i}] is not a message: ${(e as Error).message}`, this.variableName);
      }
    });
  }
}

/** A fixed message: not formatted. */
class FixedMessage implements MessagePromptPart {
  readonly inputVariables: readonly string[] = [];
  constructor(readonly message: BaseMessage) {}
  async formatMessages(): Promise<BaseMessage[]> {
    return [this.message];
  }
}

/** What fromMessages accepts for each message. */
export type ChatPromptMessageLike = MessagePromptPart | BaseMessage | ChatPromptTemplate | string | [MessageRole | 'placeholder', string] | { role: MessageRole; content: string };

function toPart(m: ChatPromptMessageLike, templateFormat: TemplateFormat, i: number): MessagePromptPart[] {
  if (m instanceof ChatPromptTemplate) return m.promptMessages;
  if (m instanceof BaseMessage) return [new FixedMessage(m)];
  if (typeof m === 'string') return [new HumanMessagePromptTemplate(m, templateFormat)];
  const [role, text] = Array.isArray(m) ? m : typeof m === 'object' && m && 'role' in m ? [m.role, m.content] : [undefined, undefined];
  if (role === undefined) {
    if (m && typeof (m as MessagePromptPart).formatMessages === 'function') return [m as MessagePromptPart];
    throw new InputError('ChatPromptTemplate.fromMessages', `message ${i} is not a message, template, [role, template] pair or placeholder`);
  }
  switch (role) {
    case 'placeholder': {
      const name = /^\{\{?([^{}]+)\}?\}$/.exec(text!.trim());
      if (!name) throw new InputError('ChatPromptTemplate.fromMessages', `message ${i}: a placeholder is written ['placeholder', '{name}'], got ${JSON.stringify(text)}`);
      return [new MessagesPlaceholder({ variableName: name[1].trim(), optional: true })];
    }
    case 'human':
    case 'user':
      return [new HumanMessagePromptTemplate(text!, templateFormat)];
    case 'ai':
    case 'assistant':
      return [new AIMessagePromptTemplate(text!, templateFormat)];
    case 'system':
      return [new SystemMessagePromptTemplate(text!, templateFormat)];
    default:
      throw new InputError('ChatPromptTemplate.fromMessages', `message ${i} has unknown role ${JSON.stringify(role)}: use system, human/user, ai/assistant or placeholder`);
  }
}

export interface ChatPromptTemplateInput extends BasePromptTemplateInput {
  promptMessages: MessagePromptPart[];
}

/**
 * A chat prompt: message templates in order, formatted to a list of messages.
 *
 *   const prompt = ChatPromptTemplate.fromMessages([
 *     ['system', 'You are a {role}.'],
 *     new MessagesPlaceholder('history'),
 *     ['human', '{question}'],
 *   ]);
 *   const messages = await prompt.formatMessages({ role: 'sailor', history: [], question: 'Where?' });
 */
export class ChatPromptTemplate extends BasePromptTemplate<ChatPromptValue> {
  readonly promptMessages: MessagePromptPart[];

  constructor(fields: ChatPromptTemplateInput) {
    super(fields);
    this.promptMessages = fields.promptMessages;
    const used = [...new Set(this.promptMessages.flatMap((p) => p.inputVariables))];
    this.inputVariables = checkVariables('ChatPromptTemplate', used, fields.inputVariables, this.partialVariables);
  }

  /**
   * A chat prompt from messages: [role, template] pairs, ['placeholder', '{name}'], message
   * templates, MessagesPlaceholder, fixed messages (not formatted) and other chat prompts.
   */
  static fromMessages(messages: readonly ChatPromptMessageLike[], { templateFormat = 'f-string', partialVariables }: { templateFormat?: TemplateFormat; partialVariables?: Record<string, PartialValue> } = {}): ChatPromptTemplate {
    return new ChatPromptTemplate({ promptMessages: messages.flatMap((m, i) => toPart(m, templateFormat, i)), partialVariables });
  }

  /**
   * One human message from a template.
   *
   *   ChatPromptTemplate.fromTemplate('Summarise: {text}');
   */
  static fromTemplate(template: string, { templateFormat = 'f-string' }: { templateFormat?: TemplateFormat } = {}): ChatPromptTemplate {
    return ChatPromptTemplate.fromMessages([['human', template]], { templateFormat });
  }

  /** The messages for these values. */
  async formatMessages(values: InputValues): Promise<BaseMessage[]> {
    const all = await this.mergePartialAndUserVariables(values, `${this.getName()}.formatMessages`);
    const out: BaseMessage[] = [];
    for (const p of this.promptMessages) out.push(...(await p.formatMessages(all)));
    return out;
  }

  async formatPromptValue(values: InputValues): Promise<ChatPromptValue> {
    return new ChatPromptValue(await this.formatMessages(values));
  }

  async partial(values: Record<string, PartialValue>): Promise<ChatPromptTemplate> {
    return new ChatPromptTemplate({ promptMessages: this.promptMessages, partialVariables: { ...this.partialVariables, ...values } });
  }
}
