/**
 * The generation queue of `dl serve`. Concurrent requests are decoded together:
 *
 * - rows (one per completion choice) of requests for the same model whose prompts have the same
 *   number of tokens and that are waiting when a batch starts share one KV cache and one forward
 *   pass per token (a batch of B rows: (B, T) prefill, then (B, 1) per step); a request waits up
 *   to `batchWindowMs` for others of its shape before its batch starts;
 * - batches of other lengths (or that arrived later) run side by side, one token step each in
 *   turn, so a long reply does not hold up a short one (fair round-robin between batches);
 * - a row that ends (stop, max_tokens, its client gone) leaves its batch at once: the cache keeps
 *   only the rows still decoding.
 *
 * GPT has no attention mask, so prompts of different lengths cannot share a batch without
 * changing their results; they get a batch each. At most `maxConcurrency` rows decode at once;
 * up to `maxQueue` requests wait beyond that, and more are refused (429).
 */
import { KVCache, type GPT } from '@dl/transformer';
import { indexSelect, tensor, type Tensor } from '@dl/tensor';
import { HttpError } from './errors.js';

/** One sequence being decoded: the engine asks it for its next token and tells it each one. */
export interface DecodeRow {
  readonly prompt: readonly number[];
  /** picks the next token from the row's logits (vocabSize), which it may edit */
  next(logits: Float32Array): number;
  /** takes the token picked; false ends the row */
  accept(token: number): boolean;
  /** true once the client has gone: the row ends before its next step */
  readonly cancelled: boolean;
  /** called once when the row leaves the engine (error: the batch failed) */
  end(error?: Error): void;
}

export interface EngineOptions {
  /** rows decoding at once, over all batches */
  maxConcurrency: number;
  /** requests waiting for a place beyond those */
  maxQueue: number;
  /** rows in one batch */
  maxBatch: number;
  /**
   * ms a request may wait for others of its shape to arrive and share its batch (requests sent
   * together reach the server a few ms apart; without a window each would start alone)
   */
  batchWindowMs?: number;
}

export interface EngineStats {
  running: number;
  waiting: number;
  batches: number;
  /** forward passes and the rows they carried (rows / passes = mean batch size) */
  passes: number;
  rowSteps: number;
}

interface Request {
  model: GPT;
  rows: DecodeRow[];
  done: () => void;
  /** when it was queued (performance.now()) */
  since: number;
}

/** One turn of work: a batch's decoding step, or a task such as an embedding. */
interface Unit {
  /** runs one step; false when the unit has finished */
  step(): Promise<boolean>;
  rows: number;
}

const yieldToIo = () => new Promise<void>((r) => setImmediate(r));

/**
 * The scheduler. `generate(model, [rows])` resolves when every row has ended; `run(task)` runs a
 * one-off job (an embedding batch) in turn with the decoding steps.
 *
 *   const engine = new Engine({ maxConcurrency: 32, maxQueue: 64, maxBatch: 16 });
 *   await engine.generate(gpt, [[row]]);
 */
export class Engine {
  readonly #waiting: Request[] = [];
  readonly #units: Unit[] = [];
  #running = 0;
  /** the unit whose step is next (round-robin) */
  #next = 0;
  #loop: Promise<void> | null = null;
  #closed = false;
  readonly stats = { passes: 0, rowSteps: 0 };

  constructor(readonly options: EngineOptions) {}

  /**
   * Queues requests, each a list of rows of one prompt length, and resolves when every row has
   * ended. Throws at once (not in the promise) an HttpError when they cannot be queued: 503
   * while shutting down, 400 for more rows than --max-concurrency, 429 when the queue is full.
   */
  generate(model: GPT, requests: DecodeRow[][]): Promise<void> {
    if (this.#closed) throw new HttpError(503, 'the server is shutting down', { code: 'server_shutting_down' });
    const most = Math.max(...requests.map((r) => r.length));
    if (most > this.options.maxConcurrency) throw new HttpError(400, `n (${most}) is more than the server's --max-concurrency ${this.options.maxConcurrency}`, { param: 'n' });
    const waitingRows = this.#waiting.reduce((n, r) => n + r.rows.length, 0);
    const newRows = requests.reduce((n, r) => n + r.length, 0);
    const runsNow = this.#running + waitingRows + newRows <= this.options.maxConcurrency;
    if (!runsNow && this.#waiting.length + requests.length > this.options.maxQueue) {
      throw new HttpError(429, `the server is busy: ${this.#running} sequences decoding and ${this.#waiting.length} requests waiting (--max-queue ${this.options.maxQueue}); retry later`, { type: 'rate_limit_error', code: 'queue_full', headers: { 'retry-after': '1' } });
    }
    const all = requests.map((rows) => new Promise<void>((done) => this.#waiting.push({ model, rows, done, since: performance.now() })));
    this.#kick();
    return Promise.all(all).then(() => undefined);
  }

  /** Runs `task` in its turn between decoding steps. */
  run<T>(task: () => Promise<T> | T): Promise<T> {
    if (this.#closed) return Promise.reject(new HttpError(503, 'the server is shutting down', { code: 'server_shutting_down' }));
    return new Promise<T>((resolve, reject) => {
      this.#units.push({
        rows: 0,
        step: async () => {
          try {
            resolve(await task());
          } catch (e) {
            reject(e);
          }
          return false;
        },
      });
      this.#kick();
    });
  }

  /** Refuses new work and the requests still waiting (503); resolves when the running ones have ended. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.#waiting.splice(0)) {
      for (const row of r.rows) row.end(new HttpError(503, 'the server is shutting down', { code: 'server_shutting_down' }));
      r.done();
    }
    await this.#loop;
  }

  getStats(): EngineStats {
    return { running: this.#running, waiting: this.#waiting.length, batches: this.#units.filter((u) => u.rows > 0).length, ...this.stats };
  }

  #kick(): void {
    this.#loop ??= this.#drive().finally(() => {
      this.#loop = null;
      if (this.#waiting.length || this.#units.length) this.#kick();
    });
  }

  async #drive(): Promise<void> {
    while (this.#units.length || this.#waiting.length) {
      this.#admit();
      if (!this.#units.length) {
        // only requests inside their batch window: wait for the oldest one's window to end
        const wait = (this.#waiting[0]?.since ?? 0) + (this.options.batchWindowMs ?? 0) - performance.now();
        await new Promise((r) => setTimeout(r, Math.max(1, wait)));
        continue;
      }
      // one unit's step per turn of the event loop, in turn: the server reads new requests,
      // notices disconnects and writes streams between any two forward passes
      this.#next %= this.#units.length;
      const unit = this.#units[this.#next];
      if (await unit.step()) this.#next++;
      else this.#units.splice(this.#next, 1);
      await yieldToIo();
    }
  }

  /** Starts batches from the waiting requests while there is room: the oldest first, with every waiting request of its model and prompt length that fits. */
  #admit(): void {
    while (this.#waiting.length) {
      const first = this.#waiting[0];
      const room = this.options.maxConcurrency - this.#running;
      if (first.rows.length > room) return;
      const T = first.rows[0].prompt.length;
      const like = this.#waiting.filter((r) => r.model === first.model && r.rows[0].prompt.length === T).reduce((n, r) => n + r.rows.length, 0);
      const window = this.options.batchWindowMs ?? 0;
      if (!this.#closed && performance.now() - first.since < window && like < Math.min(room, this.options.maxBatch)) return; // more may join
      const members: Request[] = [];
      let rows = 0;
      for (const r of [...this.#waiting]) {
        if (r.model !== first.model || r.rows[0].prompt.length !== T || rows + r.rows.length > Math.min(room, Math.max(this.options.maxBatch, first.rows.length))) continue;
        members.push(r);
        rows += r.rows.length;
        this.#waiting.splice(this.#waiting.indexOf(r), 1);
      }
      this.#running += rows;
      const batch = new Batch(first.model, members, this.stats, () => (this.#running -= 1));
      this.#units.push({ rows, step: () => batch.step() });
    }
  }
}

/** Rows of equal length decoding in lockstep through one KV cache. */
class Batch {
  #rows: DecodeRow[];
  /** each row's tokens so far (prompt + generated) */
  #tokens: number[][];
  #cache: KVCache | null = null;
  readonly #pending: Map<Request, number>;

  constructor(
    readonly model: GPT,
    requests: Request[],
    readonly stats: { passes: number; rowSteps: number },
    readonly onRowEnd: () => void,
  ) {
    this.#rows = requests.flatMap((r) => r.rows);
    this.#tokens = this.#rows.map((r) => [...r.prompt]);
    this.#pending = new Map(requests.map((r) => [r, r.rows.length]));
  }

  /** One token for every row; false when no row is left. */
  async step(): Promise<boolean> {
    try {
      this.#drop(this.#rows.map((r) => r.cancelled));
      if (!this.#rows.length) return false;
      const logits = this.#forward(); // (B, vocabSize)
      const data = await logits.data();
      logits.dispose();
      const V = this.model.config.vocabSize;
      const ended = this.#rows.map((row, b) => {
        if (row.cancelled) return true;
        const t = row.next(data.subarray(b * V, (b + 1) * V) as Float32Array);
        this.#tokens[b].push(t);
        return !row.accept(t);
      });
      this.#drop(ended);
      return this.#rows.length > 0;
    } catch (e) {
      this.#fail(e as Error);
      return false;
    }
  }

  /** The next-token logits of every row: the prompts at first, then the last token (the window again once the cache is full). */
  #forward(): Tensor {
    const { blockSize } = this.model.config;
    const device = this.model.transformer.wte.weight.device;
    const B = this.#rows.length;
    let ids: number[][];
    if (!this.#cache) {
      this.#cache = this.model.newCache(B);
      ids = this.#tokens;
    } else if (this.#cache.length < blockSize) ids = this.#tokens.map((t) => [t[t.length - 1]]);
    else {
      // past blockSize the context slides (nanoGPT's crop): positions shift, so the cache is rebuilt from the window
      this.#cache.reset();
      ids = this.#tokens.map((t) => t.slice(t.length - blockSize));
    }
    const T = ids[0].length;
    const input = tensor(Int32Array.from(ids.flat()), { shape: [B, T], dtype: 'int32', device }); // (B, T)
    try {
      this.stats.passes++;
      this.stats.rowSteps += B;
      return this.model.forwardCached(input, this.#cache);
    } finally {
      input.dispose();
    }
  }

  /** Ends the rows flagged, and keeps only the others' cache rows. */
  #drop(flags: boolean[]): void {
    if (!flags.some(Boolean)) return;
    const keep = flags.map((f, b) => (f ? -1 : b)).filter((b) => b >= 0);
    flags.forEach((f, b) => f && this.#endRow(this.#rows[b]));
    this.#rows = keep.map((b) => this.#rows[b]);
    this.#tokens = keep.map((b) => this.#tokens[b]);
    const cache = this.#cache;
    if (!cache) return;
    if (!keep.length) {
      cache.dispose();
      this.#cache = null;
      return;
    }
    const idx = tensor(Int32Array.from(keep), { dtype: 'int32', device: cache.keys[0].device });
    const pick = (ts: Tensor[]) => ts.map((t) => indexSelect(t, 0, idx)); // (B', nh, blockSize, hs)
    const next = new KVCache(pick(cache.keys), pick(cache.values));
    next.length = cache.length;
    idx.dispose();
    cache.dispose();
    this.#cache = next;
  }

  #endRow(row: DecodeRow, error?: Error): void {
    this.onRowEnd();
    try {
      row.end(error);
    } catch {
      // a row's own end handler failing must not take the batch down
    }
    for (const [req, n] of this.#pending) {
      if (!req.rows.includes(row)) continue;
      if (n === 1) {
        this.#pending.delete(req);
        req.done();
      } else this.#pending.set(req, n - 1);
    }
  }

  #fail(e: Error): void {
    for (const row of this.#rows) this.#endRow(row, e);
    this.#rows = [];
    this.#cache?.dispose();
    this.#cache = null;
  }
}
