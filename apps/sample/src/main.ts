import { parseArgs } from 'node:util';
import { setupDevice, type DeviceName } from './device.js';
import { evalSamplesCommand } from './eval/command.js';
import { SERVE_HELP, chatCommand, serveCommand } from './serve/index.js';
import { TASKS, type Command, type OptionSpec, type OptionValues, type Task, type TaskContext } from './tasks/index.js';

const COMMANDS: readonly Command[] = ['train', 'eval', 'sample', 'generate'];

function optionLines(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options)
    .filter(([, o]) => !o.hidden)
    .map(([name, o]) => `    --${name}${o.type === 'string' ? ' X' : ''}`.padEnd(28) + o.help + (o.default !== undefined ? ` (default ${o.default})` : ''));
}

function help(only?: Task | typeof evalSamplesCommand): string {
  const tasks = only ? (only === evalSamplesCommand ? [] : [only as Task]) : TASKS;
  const lines = ['dl: train, evaluate and sample from models built with @dl packages', '', 'usage: dl <command> <task> [options]', ''];
  for (const t of tasks) {
    lines.push(...Object.keys(t.commands).map((c) => `  dl ${c} ${t.name}`), `    ${t.summary}`, ...optionLines(t.options), '');
  }
  if (!only || only === evalSamplesCommand) lines.push(`  ${evalSamplesCommand.usage}`, `    ${evalSamplesCommand.summary}`, ...optionLines(evalSamplesCommand.options), '');
  if (!only) lines.push(...SERVE_HELP);
  lines.push('  every task: --device cpu|webgpu (default cpu; webgpu loads @dl/gpu), --help', '');
  return lines.join('\n');
}

/** Runs `dl <command> <task> [options]`; prints the command's last line and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  // serve and chat take no task and options of their own (--model is repeatable)
  if (argv[0] === 'serve') return serveCommand(argv.slice(1), (s) => void process.stdout.write(`${s}\n`));
  if (argv[0] === 'chat') return chatCommand(argv.slice(1), process.stdin, process.stdout, (s) => void process.stderr.write(`${s}\n`));
  // every task's options at once, so they parse wherever they stand; the task then refuses others
  const all: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const t of [...TASKS, evalSamplesCommand]) for (const [k, o] of Object.entries(t.options)) all[k] = { type: o.type };
  const parsed = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...all, device: { type: 'string', default: 'cpu' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  const values = parsed.values as OptionValues;
  const [command, name] = parsed.positionals;
  const task = TASKS.find((t) => t.name === name);
  if (values.help || !command || command === 'help') {
    process.stdout.write(help(command === 'help' ? (name === evalSamplesCommand.name ? evalSamplesCommand : TASKS.find((t) => t.name === name)) : undefined));
    return 0;
  }
  const isEvalSamples = command === evalSamplesCommand.name;
  if (!isEvalSamples && !COMMANDS.includes(command as Command)) throw new Error(`unknown command '${command}' (${COMMANDS.join(', ')}, ${evalSamplesCommand.name}, serve, chat, help)`);
  if (!isEvalSamples && !task) throw new Error(`unknown model '${name ?? ''}' (available: ${TASKS.map((t) => t.name).join(', ')})`);
  const run = isEvalSamples ? (v: OptionValues, ctx: TaskContext) => evalSamplesCommand.run(name, v, ctx) : task!.commands[command as Command];
  if (!run) throw new Error(`${task!.name} has no '${command}' command (it has: ${Object.keys(task!.commands).join(', ')})`);
  const options = isEvalSamples ? evalSamplesCommand.options : task!.options;
  const owner = isEvalSamples ? evalSamplesCommand.name : task!.name;
  for (const k of Object.keys(values)) {
    if (k !== 'device' && k !== 'help' && values[k] !== undefined && !(k in options)) throw new Error(`--${k} is not an option of ${owner} (see dl help ${owner})`);
  }
  const device = values.device as DeviceName;
  if (device !== 'cpu' && device !== 'webgpu') throw new Error(`--device must be cpu or webgpu, got '${device}'`);
  const log = (s: string) => void process.stdout.write(`${s}\n`);
  log(`device: ${await setupDevice(device)}`);
  log(await run(values, { device, log }));
  return 0;
}
