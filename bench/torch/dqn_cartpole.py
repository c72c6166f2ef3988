"""The DQN run of bench/src/workloads/rl.ts in PyTorch, CleanRL's dqn.py structure with SB3's tuned
CartPole settings (Q-network 4-256-256-2 ReLU, Adam 2.3e-3, batch 64, replay 100k, learning from
step 1,000, 128 gradient steps every 256 env steps, target copy every 10 steps, epsilon 1 -> 0.04,
Huber loss, grad norm 10): median ms of 1,000 + 4 x 256 = 2,024 env steps from a fresh agent."""
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import report, timed
from rl_cartpole import CartPoleV1

LR, BATCH, STARTS, GAMMA, TARGET_EVERY, TRAIN_FREQ, GRAD_STEPS = 2.3e-3, 64, 1000, 0.99, 10, 256, 128
TOTAL = STARTS + 4 * TRAIN_FREQ
EXPLORATION = 0.16 * TOTAL


class QNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.network = nn.Sequential(nn.Linear(4, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 2))

    def forward(self, x):
        return self.network(x)


def train(seed):
    torch.manual_seed(seed); random.seed(seed)
    env = CartPoleV1(seed)
    q, target = QNetwork(), QNetwork()
    target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=LR)
    obs_b = np.zeros((100_000, 4), np.float32); next_b = np.zeros((100_000, 4), np.float32)
    act_b = np.zeros(100_000, np.int64); rew_b = np.zeros(100_000, np.float32); done_b = np.zeros(100_000, np.float32)
    obs = env.reset()
    for step in range(1, TOTAL + 1):
        eps = max(1.0 + (0.04 - 1.0) * (step - 1) / EXPLORATION, 0.04)
        if random.random() < eps:
            a = random.randrange(2)
        else:
            with torch.no_grad():
                a = int(q(torch.tensor(obs)[None]).argmax(1)[0])
        nxt, r, term, trunc = env.step(a)
        i = step - 1
        obs_b[i], next_b[i], act_b[i], rew_b[i], done_b[i] = obs, nxt, a, r, float(term)
        obs = env.reset() if term or trunc else nxt
        if step > STARTS:
            if step % TRAIN_FREQ == 0:
                for _ in range(GRAD_STEPS):
                    idx = np.random.randint(0, step, BATCH)
                    o, n = torch.tensor(obs_b[idx]), torch.tensor(next_b[idx])
                    with torch.no_grad():
                        td = torch.tensor(rew_b[idx]) + GAMMA * target(n).max(1).values * (1 - torch.tensor(done_b[idx]))
                    old = q(o).gather(1, torch.tensor(act_b[idx])[:, None]).squeeze(1)
                    loss = F.smooth_l1_loss(old, td)
                    opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(q.parameters(), 10); opt.step()
            if step % TARGET_EVERY == 0:
                target.load_state_dict(q.state_dict())


seeds = iter(range(1000))
report(timed(lambda: train(next(seeds)), reps=3))
