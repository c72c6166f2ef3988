/**
 * Reuses storage buffers by size class. Classes are powers of two split in quarters (so at most
 * ~25% of a buffer is slack); released buffers wait until the commands that may still use them
 * have been submitted, since queue writes are ordered after submitted work but before unsubmitted.
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pendingRelease: GPUBuffer[] = [];
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

  acquire(bytes: number): GPUBuffer {
    const size = BufferPool.sizeClass(bytes);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.pooled--;
      this.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: this.usage });
    }
    this.live++;
    this.liveBytes += size;
    return buf;
  }

  /** Returns a buffer; it becomes reusable after the next submit. */
  release(buf: GPUBuffer): void {
    this.live--;
    this.liveBytes -= buf.size;
    this.pendingRelease.push(buf);
  }

  /** Called right after a submit: everything released before it may now be reused. */
  afterSubmit(): void {
    for (const buf of this.pendingRelease) {
      if (this.pooledBytes + buf.size > this.maxPooledBytes) {
        buf.destroy();
        continue;
      }
      let list = this.free.get(buf.size);
      if (!list) this.free.set(buf.size, (list = []));
      list.push(buf);
      this.pooled++;
      this.pooledBytes += buf.size;
    }
    this.pendingRelease = [];
  }

  /** Destroys every pooled buffer (live ones stay). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooled = 0;
    this.pooledBytes = 0;
  }
}
