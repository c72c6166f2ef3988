/** A line chart of one or more series on a canvas (loss curves, returns), redrawn on each point. */
export interface Series {
  label: string;
  color: string;
  values: number[];
}

export class LineChart {
  readonly series: Series[];
  readonly canvas: HTMLCanvasElement;
  #yLabel: string;

  constructor(canvas: HTMLCanvasElement, series: Omit<Series, 'values'>[], yLabel: string) {
    this.canvas = canvas;
    this.series = series.map((s) => ({ ...s, values: [] }));
    this.#yLabel = yLabel;
    new ResizeObserver(() => this.draw()).observe(canvas);
    this.draw();
  }

  push(label: string, v: number): void {
    const s = this.series.find((x) => x.label === label);
    if (!s) throw new Error(`LineChart: no series '${label}'`);
    s.values.push(v);
    this.draw();
  }

  clear(): void {
    for (const s of this.series) s.values = [];
    this.draw();
  }

  draw(): void {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 320;
    const h = c.clientHeight || 160;
    if (c.width !== Math.round(w * dpr)) c.width = Math.round(w * dpr);
    if (c.height !== Math.round(h * dpr)) c.height = Math.round(h * dpr);
    const g = c.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const all = this.series.flatMap((s) => s.values).filter(Number.isFinite);
    const n = Math.max(2, ...this.series.map((s) => s.values.length));
    const lo = all.length ? Math.min(...all) : 0;
    const hi = all.length ? Math.max(...all) : 1;
    const span = hi - lo || 1;
    const [l, r, t, b] = [44, 8, 8, 18];
    g.strokeStyle = '#8884';
    g.strokeRect(l, t, w - l - r, h - t - b);
    g.fillStyle = getComputedStyle(c).color || '#333';
    g.font = '11px system-ui, sans-serif';
    g.fillText(hi.toPrecision(3), 2, t + 9);
    g.fillText(lo.toPrecision(3), 2, h - b);
    g.fillText(this.#yLabel, l + 4, t + 11);
    g.fillText(`${Math.max(...this.series.map((s) => s.values.length))} points`, w - r - 60, h - 4);
    this.series.forEach((s, k) => {
      g.strokeStyle = s.color;
      g.lineWidth = 1.5;
      g.beginPath();
      s.values.forEach((v, i) => {
        const x = l + ((w - l - r) * i) / (n - 1);
        const y = t + (h - t - b) * (1 - (v - lo) / span);
        if (i === 0) g.moveTo(x, y);
        else g.lineTo(x, y);
      });
      g.stroke();
      if (this.series.length > 1) {
        g.fillStyle = s.color;
        g.fillText(s.label, l + 4 + 90 * k, h - 4);
      }
    });
    // screen readers and the browser test read the values from here
    c.dataset.series = JSON.stringify(Object.fromEntries(this.series.map((s) => [s.label, s.values])));
    const last = this.series.map((s) => `${s.label} ${s.values.length ? s.values[s.values.length - 1].toPrecision(4) : 'none yet'}`).join(', ');
    c.setAttribute('aria-label', `${this.#yLabel} curve: ${last}`);
  }
}
