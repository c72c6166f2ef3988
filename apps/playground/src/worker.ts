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
import './worker/lm.js';

const post = (m: WorkerMessage, transfer: Transferable[] = []): void => self.postMessage(m, { transfer });
const reportMemory = (): void => post({ kind: 'memory', memory: memory() });

const ready = (async () => {
  const info = await setupDevices();
  post({ kind: 'ready', info });
  setInterval(reportMemory, 500);
})();

self.onmessage = async (e: MessageEvent<Request | { op: 'init'; base: string }>) => {
  const req = e.data;
  if (req.op === 'init') {
    setDataBase((req as { base: string }).base);
    return;
  }
  const { id, op, args } = req as Request;
  try {
    await ready;
    const result = await handler(op)(args, (data) => post({ kind: 'event', id, data }));
    post({ kind: 'done', id, result });
  } catch (err) {
    post({ kind: 'error', id, message: (err as Error).stack ?? String(err) });
  }
  reportMemory();
};
