import { bertMlm } from './bert-mlm.js';
import { bertSpam } from './bert-spam.js';
import { dqnCartpole, ppoCartpole } from './cartpole.js';
import { ddpmMnist } from './ddpm-mnist.js';
import { ganMnist } from './gan-mnist.js';
import { gptChar } from './gpt-char.js';
import { mambaChar } from './mamba-char.js';
import { mnistCnn } from './mnist-cnn.js';
import { resnetMnist } from './resnet-mnist.js';
import type { Task } from './task.js';
import { unetSeg } from './unet-seg.js';
import { vaeMnist } from './vae-mnist.js';

/** Every task of the `dl` CLI, in the order `dl --help` lists them. Add a task here and nowhere else. */
export const TASKS: readonly Task[] = [mnistCnn, resnetMnist, unetSeg, ganMnist, vaeMnist, gptChar, mambaChar, ddpmMnist, bertMlm, bertSpam, ppoCartpole, dqnCartpole];

export type { Task, TaskContext, OptionSpec, OptionValues, Command, LastLine } from './task.js';
