// Worker threads over the shared kernel memory. A job is a parameter block plus a task count; the
// caller publishes it, claims tasks itself alongside the workers, then blocks in Atomics.wait until
// every task is finished, so kernels stay synchronous for the caller. It never waits for a worker
// that has not started: whoever is running claims the work.
import { DLError } from '../../errors.js';
import { runtime } from './runtime.js';
import { BSRC, CTRL, type Externs, JOB, type Layout, P, runTask, workerLoop } from './tasks.js';

const LAYOUT: Layout = { P, JOB, BSRC };
const MAX_THREADS = CTRL.PARAMS - CTRL.READY; // READY flags must fit below PARAMS

interface WorkerHandle {
  ready: Promise<void>;
}

let target = 1;
const workers: WorkerHandle[] = [];
let warned = false;

function warnOnce(why: string): void {
  if (warned) return;
  warned = true;
  console.warn(`@dl/tensor wasm: running on 1 thread: ${why}`);
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** Why threads cannot run here, or null when they can. */
function threadBlocker(): string | null {
  const rt = runtime();
  if (!rt.shared) return 'SharedArrayBuffer is unavailable (serve the page cross-origin isolated: COOP/COEP headers)';
  if (!isNode && typeof Worker === 'undefined') return 'Web Workers are unavailable';
  try {
    // Atomics.wait throws where the agent may not block (a browser's main thread)
    Atomics.wait(rt.ctrl, CTRL.ERR, 1, 0);
  } catch {
    return 'Atomics.wait is not allowed on this thread (browser main thread); call from a Worker to use threads';
  }
  return null;
}

let blocker: string | null | undefined;
function blocked(): string | null {
  if (blocker === undefined) blocker = threadBlocker();
  return blocker;
}

function workerSource(node: boolean): string {
  // __name: esbuild's keepNames helper, in case the host bundle was built with it
  const head = `const __name = (f) => f;\nconst runTask = (${runTask.toString()});\nconst workerLoop = (${workerLoop.toString()});\n`;
  return node
    ? `${head}const { workerData, parentPort } = require('node:worker_threads');\nworkerLoop(workerData, runTask, () => parentPort.postMessage('ready'));\n`
    : `${head}self.onmessage = (e) => workerLoop(e.data, runTask, () => self.postMessage('ready'));\n`;
}

// hides the specifier from browser bundlers; only reached in Node
const nodeWorkerThreads = 'node:worker_threads';

function spawn(tid: number): WorkerHandle {
  const rt = runtime();
  const init = { module: rt.module, memory: rt.memory, tid, C: CTRL, L: LAYOUT };
  const ready = (async () => {
    if (isNode) {
      const { Worker: NodeWorker } = (await import(/* @vite-ignore */ nodeWorkerThreads)) as typeof import('node:worker_threads');
      const w = new NodeWorker(workerSource(true), { eval: true, workerData: init });
      w.unref();
      await new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      });
    } else {
      const url = URL.createObjectURL(new Blob([workerSource(false)], { type: 'text/javascript' }));
      const w = new Worker(url);
      w.postMessage(init);
      await new Promise<void>((resolve, reject) => {
        w.onmessage = () => resolve();
        w.onerror = (e) => reject(new DLError('initThreads', `a wasm worker failed to start: ${e.message}`));
      });
      URL.revokeObjectURL(url);
    }
  })();
  ready.catch(() => {}); // a failed worker just never reports READY; initWasmThreads rethrows
  return { ready };
}

/**
 * Sets how many threads (caller included) kernels use. Workers are started in the background and
 * join jobs once running; `initWasmThreads` waits for them.
 * @example setNumThreads(2)
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new DLError('setNumThreads', `n must be a positive integer, got ${n}`);
  n = Math.min(n, MAX_THREADS);
  if (n > 1) {
    const why = blocked();
    if (why !== null) {
      warnOnce(why);
      target = 1;
      return;
    }
  }
  target = n;
  while (workers.length < target - 1) workers.push(spawn(workers.length + 1));
}

/** Threads (caller included) kernels use. */
export function getNumThreads(): number {
  return target;
}

type Os = typeof import('node:os');
const cpusOf = (os: Os) => os.availableParallelism?.() ?? os.cpus().length;

/**
 * Logical cores where they can be read synchronously: navigator.hardwareConcurrency, or Node's
 * os through process.getBuiltinModule (Node >= 20.16); undefined elsewhere.
 */
export function coresNow(): number | undefined {
  if (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) return navigator.hardwareConcurrency;
  const get = isNode ? (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule : undefined;
  const os = get?.('node:os') as Os | undefined;
  return os ? cpusOf(os) : undefined;
}

/** Logical cores: coresNow(), else os.availableParallelism() imported (older Node), else 1. */
async function coreCount(): Promise<number> {
  const now = coresNow();
  if (now !== undefined) return now;
  if (isNode) return cpusOf((await import(/* @vite-ignore */ 'node:' + 'os')) as Os);
  return 1;
}

/**
 * Starts worker threads (default: one per core, caller included) and resolves once all are
 * listening. Where threads cannot run (no SharedArrayBuffer, browser main thread) it warns once and
 * kernels stay on one thread.
 * @example await initWasmThreads(); gemmWasm(...)  // now split over the cores
 */
export async function initWasmThreads(n?: number): Promise<void> {
  setNumThreads(n ?? (await coreCount()));
  await Promise.all(workers.slice(0, target - 1).map((w) => w.ready));
}

/** Workers 1..k ready in a row: a job may only name consecutive tids. */
function readyWorkers(limit: number): number {
  const ctrl = runtime().ctrl;
  let k = 0;
  while (k < limit && Atomics.load(ctrl, CTRL.READY + k + 1) === 1) k++;
  return k;
}

/** The job parameter block; write it, then call `dispatch`. */
export function params(): Int32Array {
  const rt = runtime();
  if (rt.ctrl.length === 0) rt.ctrl = new Int32Array(rt.memory.buffer, 0, CTRL.PARAMS + CTRL.NPARAMS); // detached by growth (unshared)
  return rt.ctrl.subarray(CTRL.PARAMS, CTRL.PARAMS + CTRL.NPARAMS);
}

/** Threads a job of `nTasks` may use right now (caller included). */
export function threadsFor(nTasks: number): number {
  if (target <= 1 || nTasks <= 1) return 1;
  return 1 + readyWorkers(Math.min(target, nTasks) - 1);
}

let gen = 0;

let callerXs: Externs | undefined;
/** The caller's extern state: package modules register their instance here (extern.ts). */
export function callerExterns(): Externs {
  callerXs ??= { memory: runtime().memory, mods: [] };
  return callerXs;
}

/** Runs tasks 0..nTasks-1 of the job in `params()` on up to `threads` threads; returns when all are done. */
export function dispatch(nTasks: number, threads: number): void {
  const rt = runtime();
  const p = params();
  const parts = Math.min(threads, threadsFor(nTasks));
  if (parts <= 1) {
    for (let i = 0; i < nTasks; i++) runTask(rt.ex, p, LAYOUT, i, 0, callerExterns());
    return;
  }
  if (nTasks >= CTRL.CLOSED) throw new DLError('wasm kernels', `${nTasks} tasks in one job (at most ${CTRL.CLOSED - 1})`);
  const ctrl = rt.ctrl;
  gen = (gen + 1) & CTRL.GEN_MASK;
  const base = gen << CTRL.GEN_SHIFT;
  // parameters are already written; publishing WORK makes the job claimable
  Atomics.store(ctrl, CTRL.NTASKS, nTasks);
  Atomics.store(ctrl, CTRL.COMPLETED, 0);
  Atomics.store(ctrl, CTRL.ERR, 0);
  Atomics.store(ctrl, CTRL.PARTS, parts);
  Atomics.store(ctrl, CTRL.WORK, base);
  Atomics.notify(ctrl, CTRL.WORK);
  let failure: unknown;
  let claimed = nTasks;
  for (;;) {
    const w = Atomics.load(ctrl, CTRL.WORK);
    const i = w & CTRL.CLOSED;
    if (i >= nTasks) break;
    if (Atomics.compareExchange(ctrl, CTRL.WORK, w, w + 1) !== w) continue;
    try {
      runTask(rt.ex, p, LAYOUT, i, 0, callerExterns());
    } catch (e) {
      failure = e;
      // stop handing out tasks; wait only for the ones already claimed
      claimed = Atomics.exchange(ctrl, CTRL.WORK, base | CTRL.CLOSED) & CTRL.CLOSED;
      Atomics.add(ctrl, CTRL.COMPLETED, 1);
      break;
    }
    Atomics.add(ctrl, CTRL.COMPLETED, 1);
  }
  let spin = 0;
  for (;;) {
    const done = Atomics.load(ctrl, CTRL.COMPLETED);
    if (done >= claimed) break;
    if (++spin > CTRL.SPIN) Atomics.wait(ctrl, CTRL.COMPLETED, done);
  }
  // close the job before the next one's parameters are written (see CTRL)
  Atomics.store(ctrl, CTRL.WORK, base | CTRL.CLOSED);
  if (failure !== undefined) throw failure;
  if (Atomics.load(ctrl, CTRL.ERR) !== 0) throw new DLError('wasm kernels', 'a worker thread failed while running a kernel');
}
