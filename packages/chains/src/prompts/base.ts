/** What every prompt template shares: input variables, partial values, checking the input. */
import { InputError } from '../errors.js';
import type { BasePromptValue } from '../messages/index.js';
import { Runnable, type RunContext, type RunType } from '../runnables/index.js';

/** A partial value: fixed, or computed at each format (e.g. today's date). */
export type PartialValue = string | number | boolean | (() => string | Promise<string>);

export type InputValues = Record<string, unknown>;

export interface BasePromptTemplateInput {
  /** variables every call must give (default: those the template uses, less the partials) */
  inputVariables?: string[];
  /** values filled in ahead of the call */
  partialVariables?: Record<string, PartialValue>;
}

/**
 * A Runnable from input values to a prompt value. Input is an object of the variables; a template
 * with exactly one input variable also takes the bare value.
 */
export abstract class BasePromptTemplate<PV extends BasePromptValue = BasePromptValue> extends Runnable<InputValues, PV> {
  protected override runType: RunType = 'prompt';
  inputVariables: string[];
  partialVariables: Record<string, PartialValue>;

  constructor(fields: BasePromptTemplateInput) {
    super();
    this.partialVariables = { ...fields.partialVariables };
    this.inputVariables = fields.inputVariables ?? [];
  }

  /** The prompt value for these values. */
  abstract formatPromptValue(values: InputValues): Promise<PV>;

  /** A copy with some variables given ahead of time. */
  abstract partial(values: Record<string, PartialValue>): Promise<BasePromptTemplate<PV>>;

  /** The prompt as text. */
  async format(values: InputValues): Promise<string> {
    return (await this.formatPromptValue(values)).toString();
  }

  /**
   * The values with the partials filled in; throws InputError naming the first missing input
   * variable (and listing what was given).
   */
  async mergePartialAndUserVariables(values: InputValues, op = `${this.getName()}.format`): Promise<InputValues> {
    const merged: InputValues = {};
    for (const [k, v] of Object.entries(this.partialVariables)) merged[k] = typeof v === 'function' ? await v() : v;
    Object.assign(merged, values);
    for (const name of this.inputVariables) {
      if (merged[name] === undefined) {
        throw new InputError(op, `missing value for input variable "${name}" (needs ${this.inputVariables.map((v) => JSON.stringify(v)).join(', ')}; got ${Object.keys(values).map((v) => JSON.stringify(v)).join(', ') || 'none'})`, name);
      }
    }
    return merged;
  }

  /** The input as an object of values (a bare value fills the one input variable). */
  protected coerceInput(input: unknown): InputValues {
    if (input !== null && typeof input === 'object' && !Array.isArray(input)) return input as InputValues;
    const required = this.inputVariables.filter((v) => !(v in this.partialVariables));
    if (required.length === 1) return { [required[0]]: input };
    throw new InputError(`${this.getName()}.invoke`, `input must be an object of the variables ${required.map((v) => JSON.stringify(v)).join(', ')}, got ${Array.isArray(input) ? 'an array' : typeof input}`);
  }

  protected override _invoke(input: InputValues, _config: unknown, _run: RunContext): Promise<PV> {
    return this.formatPromptValue(this.coerceInput(input));
  }
}

/** Throws if the declared input variables and the template's disagree, naming the odd ones. */
export function checkVariables(op: string, used: readonly string[], declared: readonly string[] | undefined, partials: Record<string, unknown>): string[] {
  const needed = used.filter((v) => !(v in partials));
  if (!declared) return needed;
  const missing = needed.filter((v) => !declared.includes(v));
  if (missing.length) throw new InputError(op, `the template uses ${missing.map((v) => JSON.stringify(v)).join(', ')}, not among inputVariables ${JSON.stringify(declared)} or the partials`, missing[0]);
  const unused = declared.filter((v) => !used.includes(v));
  if (unused.length) throw new InputError(op, `inputVariables ${unused.map((v) => JSON.stringify(v)).join(', ')} are not used by the template`, unused[0]);
  return [...declared];
}
