import type { DeviceName } from '../device.js';

/** One command-line option of a task (`--batch-size 64`); values arrive as strings or booleans. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** shown in `dl --help` and `dl help <task>` */
  help: string;
  /** shown as the default in help (the task applies its own defaults) */
  default?: string;
  /** not shown in help (test and debugging switches) */
  hidden?: boolean;
}

export type OptionValues = Record<string, string | boolean | undefined>;

export interface TaskContext {
  device: DeviceName;
  /** writes one line to stdout */
  log(line: string): void;
}

/** What a command prints last: `test accuracy: 0.9825`, `fid: 12.3`, ... */
export type LastLine = string;

export type Command = 'train' | 'eval' | 'sample' | 'generate';

/**
 * A model the `dl` CLI can train (and evaluate or sample from). Each task lives in its own file
 * under src/tasks and is listed once in src/tasks/index.ts.
 */
export interface Task {
  /** `mnist-cnn`, `resnet-mnist`, ... as typed after the command */
  name: string;
  /** one line for `dl --help` */
  summary: string;
  /** options beyond --device and --help, by long name without dashes */
  options: Record<string, OptionSpec>;
  commands: Partial<Record<Command, (values: OptionValues, ctx: TaskContext) => Promise<LastLine>>>;
}
