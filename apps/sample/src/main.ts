import { parseArgs } from 'node:util';
import { setupDevice, type DeviceName } from './device.js';
import { MNIST_DEFAULTS, evalMnist, trainMnist } from './train-mnist.js';

const HELP = `dl: train and evaluate models built with @dl packages

usage:
  dl train mnist-cnn [--epochs N] [--batch-size B] [--lr X] [--device cpu|webgpu] [--out DIR] [--resume] [--seed S]
                     [--shift PX] [--label-smoothing S] [--no-cosine]
  dl eval mnist-cnn --checkpoint FILE [--device cpu|webgpu]

defaults: --epochs ${MNIST_DEFAULTS.epochs} --batch-size ${MNIST_DEFAULTS.batchSize} --lr ${MNIST_DEFAULTS.lr} --shift ${MNIST_DEFAULTS.shift} (random shifts
          in pixels, 0 = off) --label-smoothing ${MNIST_DEFAULTS.labelSmoothing}, cosine learning-rate decay, --device cpu
          --out ${MNIST_DEFAULTS.out}
`;

function num(name: string, v: string | undefined, fallback: number, integer = false): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${v}'`);
  return n;
}

function smoothing(v: string | undefined): number {
  if (v === undefined) return MNIST_DEFAULTS.labelSmoothing;
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new Error(`--label-smoothing must be in [0, 1), got '${v}'`);
  return n;
}

function shiftPx(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 8) throw new Error(`--shift must be an integer from 0 to 8, got '${v}'`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      device: { type: 'string', default: 'cpu' },
      out: { type: 'string' },
      resume: { type: 'boolean', default: false },
      seed: { type: 'string' },
      shift: { type: 'string' },
      'label-smoothing': { type: 'string' },
      'no-cosine': { type: 'boolean', default: false },
      limit: { type: 'string' }, // not in the help: N train and N test images, for quick checks and tests
      checkpoint: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, model] = positionals;
  if (values.help || !command || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (model !== 'mnist-cnn') throw new Error(`unknown model '${model ?? ''}' (available: mnist-cnn)`);
  const device = values.device as DeviceName;
  if (device !== 'cpu' && device !== 'webgpu') throw new Error(`--device must be cpu or webgpu, got '${device}'`);
  const log = (s: string) => process.stdout.write(`${s}\n`);
  log(`device: ${await setupDevice(device)}`);
  if (command === 'train') {
    const acc = await trainMnist(
      {
        epochs: num('epochs', values.epochs, MNIST_DEFAULTS.epochs, true),
        batchSize: num('batch-size', values['batch-size'], MNIST_DEFAULTS.batchSize, true),
        lr: num('lr', values.lr, MNIST_DEFAULTS.lr),
        device,
        out: values.out ?? MNIST_DEFAULTS.out,
        resume: values.resume ?? false,
        seed: values.seed === undefined ? MNIST_DEFAULTS.seed : Number(values.seed),
        shift: values.shift === undefined ? MNIST_DEFAULTS.shift : shiftPx(values.shift),
        cosine: !values['no-cosine'],
        labelSmoothing: smoothing(values['label-smoothing']),
        limit: values.limit === undefined ? undefined : num('limit', values.limit, 0, true),
      },
      log,
    );
    log(`test accuracy: ${acc.toFixed(4)}`);
    return 0;
  }
  if (command === 'eval') {
    if (!values.checkpoint) throw new Error('dl eval needs --checkpoint FILE');
    const acc = await evalMnist(values.checkpoint, device, log);
    log(`test accuracy: ${acc.toFixed(4)}`);
    return 0;
  }
  throw new Error(`unknown command '${command}' (train, eval, help)`);
}

