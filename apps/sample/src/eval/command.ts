import type { OptionSpec, OptionValues, TaskContext } from '../tasks/task.js';
import { EVAL_CLASSIFIER_PATH } from './classifier.js';
import { loadSamples } from './samples.js';
import { fidLine, reportSamples } from './score.js';

/** `--classifier FILE`: taken by `dl eval-samples` and by every generative task for its closing score. */
export const SCORING_OPTIONS = {
  classifier: { type: 'string', help: 'scoring classifier checkpoint (trained there on first use)', default: EVAL_CLASSIFIER_PATH },
} satisfies Record<string, OptionSpec>;

/** The scoring classifier's path from `--classifier`, or the default cache. */
export function classifierPath(values: OptionValues): string {
  return typeof values.classifier === 'string' ? values.classifier : EVAL_CLASSIFIER_PATH;
}

/**
 * `dl eval-samples FILE`: scores a samples.safetensors (images float32 [N,1,28,28] in [0,1],
 * optional labels int32 [N]) with the scoring classifier; prints the classifier, the mean
 * confidence, the class histogram, the requested-class agreement when there are labels, and
 * last `fid: X`.
 */
export const evalSamplesCommand = {
  name: 'eval-samples',
  usage: 'dl eval-samples FILE',
  summary: 'scores generated digits (samples.safetensors): FID-style distance to the 2,004 test digits in the features of a digit classifier, confidence, class histogram, requested-class agreement; last line `fid: X`',
  options: SCORING_OPTIONS as Record<string, OptionSpec>,
  async run(file: string | undefined, values: OptionValues, { device, log }: TaskContext): Promise<string> {
    if (!file) throw new Error('dl eval-samples needs a FILE (a samples.safetensors)');
    const samples = loadSamples(file);
    log(`file: ${file}${samples.metadata.model ? ` (${samples.metadata.model})` : ''}`);
    const score = await reportSamples(samples, { path: classifierPath(values), device, log });
    return fidLine(score);
  },
};
