import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Adam, loadCheckpoint } from '@dl/layers';
import { trainClassifier, type ClassifierOptions } from '../classify.js';
import { MnistCnn, type MnistCnnOptions } from '../model.js';

/**
 * The digit classifier that scores generated samples (`dl eval-samples`): MnistCnn at twice the
 * demo's widths, trained once on the 7,996 train digits with a fixed seed and cached, so every
 * generative task, and PyTorch's samples, are judged by the same network.
 */

/** Where the classifier is cached, relative to the working folder. */
export const EVAL_CLASSIFIER_PATH = 'runs/eval-classifier/checkpoint.safetensors';

/** Its architecture: conv32-pool-conv64-pool-fc128-fc10 (421,642 parameters); 128 penultimate features. */
export const EVAL_CLASSIFIER_MODEL: Required<MnistCnnOptions> = { channels: [32, 64], hidden: 128 };

/** Its training recipe (seed 0: the same network on every machine with the same thread count). */
export const EVAL_CLASSIFIER_RECIPE: Omit<ClassifierOptions, 'device' | 'out' | 'resume' | 'limit'> = {
  epochs: 10,
  batchSize: 64,
  lr: 2e-3,
  seed: 0,
  shift: 2,
  cosine: true,
  labelSmoothing: 0.1,
};

/** The recipe's name in the checkpoint, so a cache from another recipe is not taken for this one. */
const RECIPE_TAG = 'eval-classifier-v1';

export interface EvalClassifier {
  model: MnistCnn;
  /** the checkpoint it came from */
  path: string;
  /** accuracy on the 2,004 test digits, as measured when it was trained */
  testAccuracy: number;
  /** trained only on `limit` images for a quick check: its scores compare with nothing */
  quick: boolean;
}

export interface EvalClassifierOptions {
  /** a checkpoint to load, or where to cache a new one (default EVAL_CLASSIFIER_PATH) */
  path?: string;
  device: string;
  log: (s: string) => void;
  /**
   * quick checks (`--limit N` of a task): a one-epoch classifier on N digits, cached apart from
   * `path` (see quickDir)
   */
  limit?: number;
  /** with `limit`: the quick classifier goes to quickDir/eval-classifier-limit-N (default: the folder `<folder of path>-limit-N`) */
  quickDir?: string;
}

/**
 * Loads the scoring classifier, training and caching it first when its checkpoint is missing
 * (4-5 minutes on 2 idle CPU cores, 10 on busy ones; 98.70% test accuracy).
 *
 *   const { model, testAccuracy } = await evalClassifier({ device: 'cpu', log: console.log });
 */
export async function evalClassifier({ path = EVAL_CLASSIFIER_PATH, device, log, limit, quickDir }: EvalClassifierOptions): Promise<EvalClassifier> {
  const quick = limit !== undefined;
  const folder = quickDir ? join(quickDir, `eval-classifier-limit-${limit}`) : `${dirname(path)}-limit-${limit}`;
  const file = quick ? join(folder, 'checkpoint.safetensors') : path;
  const model = new MnistCnn(EVAL_CLASSIFIER_MODEL).to(device);
  if (existsSync(file)) {
    const { extra } = await loadCheckpoint(file, { model });
    if (!quick && extra.recipe !== RECIPE_TAG) log(`note: ${file} was not trained by this recipe (${RECIPE_TAG}); scores may not compare with others`);
    return { model, path: file, testAccuracy: Number(extra.testAccuracy), quick };
  }
  log(quick ? `training a quick scoring classifier on ${limit} digits (--limit: its scores compare with nothing)` : `training the scoring classifier once (cached at ${file})`);
  const recipe = quick ? { ...EVAL_CLASSIFIER_RECIPE, epochs: 1 } : EVAL_CLASSIFIER_RECIPE;
  const acc = await trainClassifier(
    { ...recipe, device, out: dirname(file), resume: false, limit },
    () => {
      const net = new MnistCnn(EVAL_CLASSIFIER_MODEL).to(device);
      const [c1, c2] = EVAL_CLASSIFIER_MODEL.channels;
      return {
        model: net,
        optimizer: new Adam(net.parameters(), { lr: recipe.lr }),
        name: `MnistCnn ${c1}-${c2}-${EVAL_CLASSIFIER_MODEL.hidden}`,
        optimizerText: `Adam lr ${recipe.lr}`,
        extra: { recipe: RECIPE_TAG, ...EVAL_CLASSIFIER_MODEL },
      };
    },
    log,
  );
  await loadCheckpoint(file, { model });
  return { model, path: file, testAccuracy: acc, quick };
}
