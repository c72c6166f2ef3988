/** The static data files (datasets.ts), fetched once from the page's `data/` folder. */
let base = '';

/** Where `data/` is: the page passes its own URL at start-up. */
export function setDataBase(url: string): void {
  base = url;
}

const cache = new Map<string, Promise<ArrayBuffer>>();

export function fetchData(name: string): Promise<ArrayBuffer> {
  let p = cache.get(name);
  if (!p) {
    p = fetch(new URL(`data/${name}`, base)).then((r) => {
      if (!r.ok) throw new Error(`data/${name}: HTTP ${r.status}`);
      return r.arrayBuffer();
    });
    cache.set(name, p);
  }
  return p;
}

export interface MnistSet {
  /** [n * 784] in [0, 1] */
  images: Float32Array;
  labels: Int32Array;
  length: number;
}

let mnist: Promise<{ train: MnistSet; test: MnistSet }> | null = null;

/** The 7,996 / 2,004 digit split of `dl train mnist-cnn` (datasets.ts writes it). */
export function loadMnist(): Promise<{ train: MnistSet; test: MnistSet }> {
  mnist ??= fetchData('mnist.bin').then((buf) => {
    const view = new DataView(buf);
    const nTrain = view.getUint32(0, true);
    const nTest = view.getUint32(4, true);
    const n = nTrain + nTest;
    const labels = new Uint8Array(buf, 8, n);
    const pixels = new Uint8Array(buf, 8 + n, n * 784);
    const part = (from: number, len: number): MnistSet => {
      const images = new Float32Array(len * 784);
      for (let i = 0; i < images.length; i++) images[i] = pixels[from * 784 + i] / 255;
      return { images, labels: Int32Array.from(labels.subarray(from, from + len)), length: len };
    };
    return { train: part(0, nTrain), test: part(nTrain, nTest) };
  });
  return mnist;
}

let text: Promise<string> | null = null;

/** Moby-Dick, as `dl train gpt-char` reads it. */
export function loadMobyDick(): Promise<string> {
  text ??= fetchData('moby-dick.txt').then((b) => new TextDecoder().decode(b));
  return text;
}
