import type { OptionSpec, OptionValues } from './task.js';

/** Options shared by training tasks; a task picks the ones it uses (`pick(TRAIN_OPTIONS, 'epochs', ...)`). */
export const TRAIN_OPTIONS = {
  epochs: { type: 'string', help: 'passes over the training set' },
  steps: { type: 'string', help: 'optimizer steps (instead of epochs)' },
  'batch-size': { type: 'string', help: 'examples per step' },
  lr: { type: 'string', help: 'learning rate' },
  out: { type: 'string', help: 'folder for the checkpoint, pictures and samples' },
  resume: { type: 'boolean', help: 'continue from DIR/checkpoint.safetensors' },
  seed: { type: 'string', help: 'initial weights, shuffling and augmentation', default: '0' },
  limit: { type: 'string', help: 'only N train and N test examples (quick checks, tests)', hidden: true },
  checkpoint: { type: 'string', help: 'checkpoint file to load' },
} satisfies Record<string, OptionSpec>;

/** The named entries of an option table. */
export function pick<T extends Record<string, OptionSpec>, K extends keyof T>(table: T, ...names: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const n of names) out[n] = table[n];
  return out;
}

function str(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** `--name` as a positive number (an integer with `integer`), or `fallback` when absent. */
export function num(values: OptionValues, name: string, fallback: number, integer = false): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${v}'`);
  return n;
}

/** `--name` as a number in [lo, hi) (an integer with `integer`), or `fallback`. */
export function numIn(values: OptionValues, name: string, fallback: number, lo: number, hi: number, integer = false): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!(n >= lo && n < hi) || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${lo} to ${integer ? hi - 1 : `below ${hi}`}, got '${v}'`);
  }
  return n;
}

/** `--seed` (any integer), or 0. */
export function seed(values: OptionValues): number {
  const v = str(values, 'seed');
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--seed must be a non-negative integer, got '${v}'`);
  return n;
}

/** `--name` as a string, or `fallback`. */
export function text(values: OptionValues, name: string, fallback: string): string {
  return str(values, name) ?? fallback;
}

/** `--name` as a string; throws when absent. */
export function required(values: OptionValues, name: string, command: string): string {
  const v = str(values, name);
  if (v === undefined) throw new Error(`${command} needs --${name}`);
  return v;
}
