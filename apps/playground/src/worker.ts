/**
 * The model Worker: every model of the page trains and runs here, so the page never freezes, and
 * the wasm kernels may block on their threads (Atomics.wait is not allowed on a page's main thread).
 */
import { memory } from '@dl/tensor';
import type { Request, WorkerMessage } from './protocol.js';
import { setDataBase } from './worker/data.js';
import { setupDevices } from './worker/devices.js';
import { handler } from './worker/registry.js';
import './worker/mnist.js';
import './worker/generative.js';
import './worker/lm.js';
import './worker/bert.js';
import './worker/rl.js';
import './worker/checkpoints.js';

const post = (m: WorkerMessage, transfer: Transferable[] = []): void => self.postMessage(m, { transfer });
const reportMemory = (): void => post({ kind: 'memory', memory: memory() });

let ready: Promise<void> | null = null;

type Init = { op: 'init'; base: string; webgpu: boolean; threads?: number };

self.onmessage = async (e: MessageEvent<Request | Init>) => {
  const req = e.data;
  if (req.op === 'init') {
    const { base, webgpu, threads } = req as Init;
    setDataBase(base);
    ready = (async () => {
      const info = await setupDevices(webgpu, threads);
      post({ kind: 'ready', info });
      setInterval(reportMemory, 500);
    })();
    return;
  }
  const { id, op, args } = req as Request;
  try {
    if (!ready) throw new Error('the page must send init before any request');
    await ready;
    const result = await handler(op)(args, (data) => post({ kind: 'event', id, data }));
    post({ kind: 'done', id, result });
  } catch (err) {
    post({ kind: 'error', id, message: (err as Error).stack ?? String(err) });
  }
  reportMemory();
};
