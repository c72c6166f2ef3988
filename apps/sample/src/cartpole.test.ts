import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from './main.js';
import { runCli } from './test-helpers.js';

describe('dl train ppo-cartpole / dqn-cartpole', () => {
  it.each([
    ['ppo-cartpole', '512', 'PPO, actor and critic 4-64-64 tanh'],
    ['dqn-cartpole', '1300', 'DQN, Q-network 4-256-256-2 ReLU'],
  ])('%s trains a few steps, writes the policy and pictures, evaluates; dl eval re-evaluates the same', async (task, steps, agent) => {
    const dir = mkdtempSync(join(tmpdir(), `dl-${task}-`));
    try {
      const out = await runCli(['train', task, '--steps', steps, '--episodes', '3', '--seed', '2', '--out', dir]);
      expect(out.some((l) => l.startsWith(`env: CartPole-v1 (500-step limit); agent: ${agent}`))).toBe(true);
      expect(out.some((l) => /^trained: \d+ env steps, \d+ episodes in \d+s \(\d+ steps\/s\)/.test(l))).toBe(true);
      expect(out.some((l) => l.startsWith('evaluation: 3 greedy episodes (seeds 2..4): mean '))).toBe(true);
      const last = out.at(-1)!;
      expect(last).toMatch(/^mean return: \d+\.\d$/);
      for (const f of ['policy.safetensors', 'learning-curve.png', 'cartpole.png']) {
        expect(existsSync(join(dir, f)), f).toBe(true);
      }
      expect(readFileSync(join(dir, 'cartpole.png')).subarray(1, 4).toString()).toBe('PNG');
      const again = await runCli(['eval', task, '--checkpoint', join(dir, 'policy.safetensors'), '--episodes', '3', '--seed', '2']);
      expect(again.at(-1)).toBe(last);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses --device webgpu with a reason', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      // where no WebGPU adapter loads, setting up the device fails first, with its own reason
      await expect(main(['train', 'ppo-cartpole', '--device', 'webgpu', '--steps', '256'])).rejects.toThrow(/ppo-cartpole runs on the CPU only|@dl\/gpu|adapter/i);
    } finally {
      out.mockRestore();
    }
  });
});
