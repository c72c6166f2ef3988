/** PromptTemplate: a text prompt with variables. */
import { StringPromptValue } from '../messages/index.js';
import { BasePromptTemplate, checkVariables, type BasePromptTemplateInput, type InputValues, type PartialValue } from './base.js';
import { renderTemplate, templateVariables, type TemplateFormat } from './template.js';

export interface PromptTemplateInput extends BasePromptTemplateInput {
  template: string;
  /** 'f-string' ({name}) or 'mustache' ({{name}}) */
  templateFormat?: TemplateFormat;
}

/**
 * A text prompt with variables, in f-string (`{topic}`) or mustache (`{{topic}}`) syntax.
 * Formatting without a variable throws InputError naming it.
 *
 *   const prompt = PromptTemplate.fromTemplate('Tell me a joke about {topic}');
 *   await prompt.format({ topic: 'whales' }); // 'Tell me a joke about whales'
 *   const dated = await prompt.partial({ topic: () => 'the sea' });
 */
export class PromptTemplate extends BasePromptTemplate<StringPromptValue> {
  readonly template: string;
  readonly templateFormat: TemplateFormat;

  constructor(fields: PromptTemplateInput) {
    super(fields);
    this.template = fields.template;
    this.templateFormat = fields.templateFormat ?? 'f-string';
    this.inputVariables = checkVariables('PromptTemplate', templateVariables(this.template, this.templateFormat), fields.inputVariables, this.partialVariables);
  }

  /**
   * A template whose input variables are those the text uses.
   *
   *   PromptTemplate.fromTemplate('{{#docs}}- {{.}}\n{{/docs}}', { templateFormat: 'mustache' });
   */
  static fromTemplate(template: string, options: Omit<PromptTemplateInput, 'template'> = {}): PromptTemplate {
    return new PromptTemplate({ ...options, template });
  }

  override async format(values: InputValues): Promise<string> {
    return renderTemplate(this.template, this.templateFormat, await this.mergePartialAndUserVariables(values));
  }

  async formatPromptValue(values: InputValues): Promise<StringPromptValue> {
    return new StringPromptValue(await this.format(values));
  }

  async partial(values: Record<string, PartialValue>): Promise<PromptTemplate> {
    const partialVariables = { ...this.partialVariables, ...values };
    return new PromptTemplate({ template: this.template, templateFormat: this.templateFormat, partialVariables, inputVariables: this.inputVariables.filter((v) => !(v in values)) });
  }
}
