/**
 * Reuses storage buffers by size class. Classes are powers of two split in quarters (so at most
 * ~25% of a buffer is slack). A buffer released while recorded commands may still read it can be
 * reused at once by a later kernel of the same command encoder (commands run in order), but not by
 * an upload: queue writes run before the unsubmitted commands, so uploads wait for the submit.
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** released since the last submit, by size class */
  private readonly pending = new Map<number, GPUBuffer[]>();
  pendingCount = 0;
  /** buffers handed out and not yet released */
  live = 0;
  liveBytes = 0;
  pooled = 0;
  pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    /** pooled bytes kept at most; more is destroyed */
    private readonly maxPooledBytes: number,
  ) {}

  static sizeClass(bytes: number): number {
    const b = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (b <= 256) return b;
    const p = 2 ** Math.floor(Math.log2(b));
    const q = p / 4;
    return Math.ceil(b / q) * q;
  }

  /** A buffer of at least `bytes`; `forUpload` buffers never come from the not-yet-submitted releases. */
  acquire(bytes: number, forUpload = false): GPUBuffer {
    const size = BufferPool.sizeClass(bytes);
    let buf = forUpload ? undefined : this.pending.get(size)?.pop();
    if (buf) {
      this.pendingCount--;
    } else {
      buf = this.free.get(size)?.pop();
      if (buf) {
        this.pooled--;
        this.pooledBytes -= size;
      } else {
        buf = this.device.createBuffer({ size, usage: this.usage });
      }
    }
    this.live++;
    this.liveBytes += size;
    return buf;
  }

  /** Returns a buffer: reusable by kernels now, by uploads after the next submit. */
  release(buf: GPUBuffer): void {
    this.live--;
    this.liveBytes -= buf.size;
    let list = this.pending.get(buf.size);
    if (!list) this.pending.set(buf.size, (list = []));
    list.push(buf);
    this.pendingCount++;
  }

  /** Called right after a submit: everything released before it is free for any use. */
  afterSubmit(): void {
    for (const [size, bufs] of this.pending) {
      for (const buf of bufs) {
        if (this.pooledBytes + size > this.maxPooledBytes) {
          buf.destroy();
          continue;
        }
        let list = this.free.get(size);
        if (!list) this.free.set(size, (list = []));
        list.push(buf);
        this.pooled++;
        this.pooledBytes += size;
      }
    }
    this.pending.clear();
    this.pendingCount = 0;
  }

  /** Destroys every pooled buffer (live ones stay). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooled = 0;
    this.pooledBytes = 0;
  }
}
