import { LineChart } from '../ui/chart.js';
import type { WorkerClient } from '../ui/client.js';
import { $, reportError } from '../ui/dom.js';

interface CartFrame {
  x: number;
  theta: number;
  t: number;
  episodeReturn: number;
  done: boolean;
}

/** Draws CartPole's cart (x in [-2.4, 2.4] fills the width) and its pole (1 m, leaning right for theta > 0). */
function drawCart(canvas: HTMLCanvasElement, f: CartFrame): void {
  const g = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  const scale = w / 4.8;
  const [cx, cy] = [w / 2 + f.x * scale, h * 0.72];
  g.clearRect(0, 0, w, h);
  g.strokeStyle = '#000';
  g.lineWidth = 1;
  g.beginPath();
  g.moveTo(0, cy);
  g.lineTo(w, cy);
  g.stroke();
  g.fillStyle = '#000';
  g.fillRect(cx - 25, cy - 15, 50, 30);
  g.save();
  g.translate(cx, cy - 8);
  g.rotate(f.theta);
  g.fillStyle = '#ca9865';
  g.fillRect(-5, -scale * 1.0, 10, scale * 1.0);
  g.restore();
  g.fillStyle = '#8184cb';
  g.beginPath();
  g.arc(cx, cy - 8, 5, 0, 2 * Math.PI);
  g.fill();
  g.fillStyle = f.done ? '#c92a2a' : '#333';
  g.font = '14px system-ui, sans-serif';
  g.fillText(`step ${f.t}   return ${f.episodeReturn}${f.done ? '   (episode over)' : ''}`, 10, 20);
  canvas.dataset.frame = JSON.stringify(f);
}

/** RL: PPO on CartPole in its own Worker, the cart on a canvas, the return curve; manual pushes. */
export function rlSection(client: WorkerClient): void {
  const cart = $<HTMLCanvasElement>('rl-cart');
  const chart = new LineChart($<HTMLCanvasElement>('rl-chart'), [{ label: 'mean return', color: '#2b8a3e' }], 'mean return, last 20 episodes');
  const status = $('rl-status');
  const cartStatus = $('rl-cart-status');
  const [trainBtn, stopBtn, playBtn] = [$<HTMLButtonElement>('rl-train'), $<HTMLButtonElement>('rl-stop'), $<HTMLButtonElement>('rl-play')];
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  // PPO runs synchronously in its Worker: a stop reaches it through shared memory
  const stop = crossOriginIsolated ? new SharedArrayBuffer(4) : null;
  let latest: CartFrame | null = null;
  let drawn = true;
  const show = (f: CartFrame): void => {
    latest = f;
    if (drawn) {
      drawn = false;
      requestAnimationFrame(() => {
        drawn = true;
        drawCart(cart, latest!);
      });
    }
  };
  drawCart(cart, { x: 0, theta: 0, t: 0, episodeReturn: 0, done: false });

  trainBtn.addEventListener('click', async () => {
    trainBtn.disabled = true;
    playBtn.disabled = true;
    stopBtn.disabled = !stop;
    status.classList.remove('error');
    chart.clear();
    status.textContent = 'PPO is starting…';
    try {
      const r = await client.call<{ stopped: boolean; episodes: number; lastReturns: number[]; seconds: number }>(
        'rl.train',
        { totalTimesteps: num('rl-steps'), lr: num('rl-lr'), seed: num('rl-seed'), stop },
        (e: { frame?: CartFrame; progress?: { step: number; meanReturn: number; episodes: number; stepsPerSec: number } }) => {
          if (e.frame) show(e.frame);
          if (e.progress && Number.isFinite(e.progress.meanReturn)) {
            const p = e.progress;
            chart.push('mean return', p.meanReturn);
            status.dataset.stepsPerSec = String(p.stepsPerSec);
            status.textContent = `${p.step.toLocaleString('en-US')} env steps, ${p.episodes} episodes: mean return ${p.meanReturn.toFixed(1)}, ${Math.round(p.stepsPerSec).toLocaleString('en-US')} env steps/s`;
          }
        },
      );
      if (r.stopped) status.textContent = `Stopped after ${r.seconds.toFixed(1)} s (PPO hands back its agent only at the end of a run: the previous agent is kept).`;
      else {
        const mean = r.lastReturns.reduce((a, b) => a + b, 0) / Math.max(1, r.lastReturns.length);
        status.textContent = `Trained in ${r.seconds.toFixed(1)} s: ${r.episodes} episodes, mean return of the last ${r.lastReturns.length} ${mean.toFixed(1)}. Watch the agent play.`;
      }
      status.dataset.done = String(Number(status.dataset.done ?? 0) + 1);
      playBtn.disabled = r.stopped && playBtn.dataset.agent !== 'true';
      if (!r.stopped) playBtn.dataset.agent = 'true';
    } catch (e) {
      reportError(status, e);
    } finally {
      trainBtn.disabled = false;
      stopBtn.disabled = true;
    }
  });
  stopBtn.addEventListener('click', () => {
    if (stop) Atomics.store(new Int32Array(stop), 0, 1);
  });

  let episodeSeed = 100;
  playBtn.addEventListener('click', async () => {
    playBtn.disabled = true;
    try {
      const r = await client.call<{ episodeReturn: number }>('rl.episode', { seed: episodeSeed++, msPerStep: 20, maxSteps: 500 }, show);
      cartStatus.textContent = `The agent's episode: return ${r.episodeReturn}.`;
    } catch (e) {
      reportError(cartStatus, e);
    } finally {
      playBtn.disabled = false;
    }
  });

  let pushSeed = 0;
  const push = async (action: 0 | 1 | 'reset'): Promise<void> => {
    try {
      const f = await client.call<CartFrame>('rl.push', { action, seed: pushSeed++ });
      drawCart(cart, f);
      cartStatus.textContent = f.done ? `Episode over after ${f.t} steps (return ${f.episodeReturn}); the next push starts a new one.` : `Step ${f.t}: x ${f.x.toFixed(3)} m, pole ${((f.theta * 180) / Math.PI).toFixed(1)} degrees.`;
    } catch (e) {
      reportError(cartStatus, e);
    }
  };
  $('rl-left').addEventListener('click', () => void push(0));
  $('rl-right').addEventListener('click', () => void push(1));
  $('rl-reset').addEventListener('click', () => void push('reset'));
  cart.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      e.preventDefault();
      void push(e.key === 'ArrowLeft' ? 0 : 1);
    }
  });
}
