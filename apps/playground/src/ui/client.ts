import type { DeviceInfo, MemoryReport, Request, WorkerMessage } from '../protocol.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; onEvent?: (data: unknown) => void };

/** The page's side of the model Worker: `call(op, args, onEvent)` resolves with the op's result. */
export class WorkerClient {
  readonly worker: Worker;
  readonly ready: Promise<DeviceInfo>;
  onMemory: (m: MemoryReport) => void = () => {};
  #next = 1;
  #pending = new Map<number, Pending>();

  /**
   * `name` labels the Worker (the page runs PPO, a synchronous loop, in a Worker of its own);
   * `webgpu: false` keeps it on the CPU; `threads` sets its wasm kernels' threads (default one per core).
   */
  constructor(readonly name = 'models', { webgpu = true, threads }: { webgpu?: boolean; threads?: number } = {}) {
    this.worker = new Worker(new URL('../worker.ts', import.meta.url), { type: 'module', name: `dl-${name}` });
    this.worker.postMessage({ op: 'init', base: document.baseURI, webgpu, threads });
    let ready!: (i: DeviceInfo) => void;
    this.ready = new Promise((r) => (ready = r));
    this.worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
      const m = e.data;
      if (m.kind === 'ready') return ready(m.info);
      if (m.kind === 'memory') return this.onMemory(m.memory);
      const p = this.#pending.get(m.id);
      if (!p) return;
      if (m.kind === 'event') p.onEvent?.(m.data);
      else {
        this.#pending.delete(m.id);
        if (m.kind === 'done') p.resolve(m.result);
        else p.reject(new Error(m.message));
      }
    };
  }

  call<T>(op: string, args: unknown = null, onEvent?: (data: any) => void, transfer: Transferable[] = []): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent });
      this.worker.postMessage({ id, op, args } satisfies Request, { transfer });
    });
  }
}
