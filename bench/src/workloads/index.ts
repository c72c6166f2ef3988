import { bertMlmStep } from './bert.js';
import { ddpmMnistStep } from './ddpm.js';
import { ganMnistStep } from './gan.js';
import { gptCharStep } from './gpt.js';
import { mambaCharStep } from './mamba.js';
import { gptStep, mnistStep } from './nets.js';
import { resnetMnistStep } from './resnet.js';
import { dqnCartpoleRun, ppoCartpoleRun } from './rl.js';
import { tfjsMnistStep } from './tfjs-mnist.js';
import type { Workload } from './types.js';
import { unetSegStep } from './unet.js';
import { vaeMnistStep } from './vae.js';

/** Every training workload of `pnpm bench`, in table order. A model package adds its own here. */
export const WORKLOADS: readonly Workload[] = [
  { id: 'mnist-cnn', make: () => mnistStep(), torch: 'mnist_cnn.py', tfjs: (tf) => tfjsMnistStep(tf) },
  { id: 'char-gpt', make: () => gptStep(), torch: 'char_gpt.py', tfjs: 'not run: bench/ has no TF.js char GPT' },
  { id: 'resnet-mnist', make: () => resnetMnistStep(), torch: 'resnet_mnist.py', tfjs: 'not run: bench/ has no TF.js ResNet' },
  { id: 'unet-seg', make: () => unetSegStep(), torch: 'unet_seg.py', tfjs: 'not run: bench/ has no TF.js U-Net' },
  { id: 'gan-mnist', make: () => ganMnistStep(), torch: 'gan_mnist.py', tfjs: 'not run: bench/ has no TF.js DCGAN' },
  { id: 'vae-mnist', make: () => vaeMnistStep(), torch: 'vae_mnist.py', tfjs: 'not run: bench/ has no TF.js VAE' },
  { id: 'gpt-char', make: () => gptCharStep(), torch: 'gpt_char.py', tfjs: 'not run: bench/ has no TF.js GPT' },
  { id: 'mamba-char', make: () => mambaCharStep(), torch: 'mamba_char.py', tfjs: 'not run: bench/ has no TF.js Mamba' },
  { id: 'ddpm-mnist', make: () => ddpmMnistStep(), torch: 'ddpm_mnist.py', tfjs: 'not run: bench/ has no TF.js DDPM' },
  { id: 'bert-mlm', make: () => bertMlmStep(), torch: 'bert_mlm.py', tfjs: 'not run: bench/ has no TF.js BERT' },
  { id: 'ppo-cartpole', make: () => ppoCartpoleRun(), torch: 'ppo_cartpole.py', tfjs: 'not run: bench/ has no TF.js PPO' },
  { id: 'dqn-cartpole', make: () => dqnCartpoleRun(), torch: 'dqn_cartpole.py', tfjs: 'not run: bench/ has no TF.js DQN' },
];

export type { Step, Workload } from './types.js';
