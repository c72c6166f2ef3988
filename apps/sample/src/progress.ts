import type { TrainProgress } from '@dl/layers';

/** 75 -> "1m15s" */
export function duration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.max(0, Math.round(sec));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * A one-line progress bar on stderr: redrawn in place on a terminal (at most 10 times a second),
 * one line every `every` steps otherwise (logs, CI).
 */
export class ProgressBar {
  #last = 0;
  readonly tty: boolean;
  constructor(
    readonly stream: NodeJS.WriteStream = process.stderr,
    readonly every = 25,
    /** what samplesPerSec counts: `img/s`, `tok/s` */
    readonly unit = 'img',
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** `smoothLoss` is shown as `loss 0.1234`; a string (`lossD 0.61 lossG 1.93`) is shown as it is. */
  update(p: TrainProgress, smoothLoss: number | string): void {
    const width = 24;
    const done = Math.round((width * p.step) / p.stepsPerEpoch);
    const bar = `${'#'.repeat(done)}${'.'.repeat(width - done)}`;
    const line =
      `epoch ${p.epoch + 1}/${p.epochs} [${bar}] ${String(p.step).padStart(String(p.stepsPerEpoch).length)}/${p.stepsPerEpoch}` +
      `  ${typeof smoothLoss === 'number' ? `loss ${smoothLoss.toFixed(4)}` : smoothLoss}  ${p.samplesPerSec.toFixed(0)} ${this.unit}/s  ${p.msPerStep.toFixed(0)} ms/step  ETA ${duration(p.etaSec)}`;
    if (this.tty) {
      const now = performance.now();
      if (now - this.#last < 100 && p.step !== p.stepsPerEpoch) return;
      this.#last = now;
      this.stream.write(`\r${line}\x1b[K`);
      if (p.step === p.stepsPerEpoch) this.stream.write('\n');
    } else if (p.step % this.every === 0 || p.step === p.stepsPerEpoch) this.stream.write(`${line}\n`);
  }
}
