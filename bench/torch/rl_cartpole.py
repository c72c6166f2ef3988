"""CartPole-v1 for the PyTorch RL timings of bench/: the numpy transcription of Gymnasium's CartPole
(packages/rl/fixtures/classic_control.py, which @dl/rl's trajectory fixture comes from) with
Gymnasium's uniform(-0.05, 0.05) reset, a 500-step limit, and a vector env with same-step autoreset
(as @dl/rl's SyncVectorEnv)."""
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packages", "rl", "fixtures"))
from classic_control import CartPole  # noqa: E402


class CartPoleV1:
    """One CartPole-v1: reset() -> obs, step(a) -> (obs, reward, terminated, truncated)."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def reset(self):
        self.env = CartPole(self.rng.uniform(-0.05, 0.05, size=4))
        self.t = 0
        return np.array(self.env.state, dtype=np.float32)

    def step(self, action):
        obs, reward, terminated = self.env.step(int(action))
        self.t += 1
        return obs, reward, terminated, self.t >= 500


class SyncVectorEnv:
    """n copies; an ended copy is reset in the same step, its last observation kept in `final`."""

    def __init__(self, n, seed):
        self.envs = [CartPoleV1(seed + i) for i in range(n)]

    def reset(self):
        return np.stack([e.reset() for e in self.envs])

    def step(self, actions):
        obs, rewards, terms, truncs, finals = [], [], [], [], []
        for e, a in zip(self.envs, actions):
            o, r, term, trunc = e.step(a)
            finals.append(o)
            if term or trunc:
                o = e.reset()
            obs.append(o); rewards.append(r); terms.append(term); truncs.append(trunc)
        return np.stack(obs), np.array(rewards, dtype=np.float32), np.array(terms), np.array(truncs), finals
