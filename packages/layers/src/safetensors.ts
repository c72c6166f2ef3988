import { DLError, Tensor, tensor, type DType, type TypedArray } from '@dl/tensor';

/**
 * The safetensors format (https://huggingface.co/docs/safetensors): 8 bytes little-endian u64
 * N, N bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
 * {str: str}}`, then the raw little-endian data; offsets are relative to the data section.
 */

/** Element types of the format that @dl reads. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const SIZES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export type SafetensorsErrorCode = 'truncated' | 'header-too-large' | 'bad-json' | 'bad-entry' | 'bad-dtype' | 'bad-offsets' | 'overlap' | 'out-of-range' | 'bad-metadata' | 'unsupported';

/** A corrupt, truncated or lying safetensors file (`code` says which check failed). */
export class SafetensorsError extends DLError {
  constructor(
    readonly code: SafetensorsErrorCode,
    message: string,
  ) {
    super('safetensors', message);
  }
}

/**
 * @internal Parses file bytes with `parse`; a SafetensorsError it throws names the file:
 * `safetensors: runs/ckpt.safetensors: header claims 912 bytes but ...`.
 */
export function parseFile<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    const named = new SafetensorsError(e.code, `${path}: ${e.message.slice(`${e.op}: `.length)}`);
    named.cause = e;
    throw named;
  }
}

export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data section */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** byte offset of the data section in the file (8 + header length) */
  dataStart: number;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Reads and validates the header of a safetensors buffer: the length, the JSON, every entry's
 * dtype, shape and offsets (inside the data section, not overlapping, exactly dtype size x
 * element count). Never reads outside `bytes`.
 */
export function readSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  if (bytes.length < 8) throw new SafetensorsError('truncated', `file has ${bytes.length} bytes; the 8-byte header length is missing`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_BYTES) throw new SafetensorsError('header-too-large', `header length ${hi * 2 ** 32 + lo} exceeds ${MAX_HEADER_BYTES} bytes`);
  const n = lo;
  if (8 + n > bytes.length) throw new SafetensorsError('truncated', `header claims ${n} bytes but the file has only ${bytes.length - 8} after the length`);
  let json: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch (e) {
    throw new SafetensorsError('bad-json', `header is not valid UTF-8: ${(e as Error).message}`);
  }
  // the format's header is one JSON object, starting at its first byte
  if (!text.startsWith('{')) throw new SafetensorsError('bad-json', `header must be a JSON object starting with '{', got ${JSON.stringify(text.slice(0, 20))}`);
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError('bad-json', `header is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new SafetensorsError('bad-json', 'header must be a JSON object');
  const dataLen = bytes.length - 8 - n;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        throw new SafetensorsError('bad-metadata', '__metadata__ must map strings to strings');
      }
      metadata = { ...(raw as Record<string, string>) };
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') throw new SafetensorsError('bad-entry', `entry '${name}' must be an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in SIZES)) throw new SafetensorsError('bad-dtype', `entry '${name}' has unsupported dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(SIZES).join(', ')})`);
    if (!Array.isArray(e.shape) || !e.shape.every(isInt)) throw new SafetensorsError('bad-entry', `entry '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !isInt(off[0]) || !isInt(off[1]) || off[0] > off[1]) {
      throw new SafetensorsError('bad-offsets', `entry '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    }
    if (off[1] > dataLen) throw new SafetensorsError('bad-offsets', `entry '${name}' ends at byte ${off[1]} but the data section has ${dataLen} bytes`);
    const dtype = e.dtype as SafetensorsDType;
    const numel = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (numel * SIZES[dtype] !== off[1] - off[0]) {
      throw new SafetensorsError('bad-offsets', `entry '${name}' (${dtype} [${(e.shape as number[]).join(',')}]) needs ${numel * SIZES[dtype]} bytes but data_offsets span ${off[1] - off[0]}`);
    }
    entries.set(name, { dtype, shape: [...(e.shape as number[])], dataOffsets: [off[0], off[1]] });
  }
  const spans = [...entries].filter(([, e]) => e.dataOffsets[1] > e.dataOffsets[0]).sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][1].dataOffsets[0] < spans[i - 1][1].dataOffsets[1]) {
      throw new SafetensorsError('overlap', `entries '${spans[i - 1][0]}' and '${spans[i][0]}' overlap in the data section`);
    }
  }
  return { entries, metadata, dataStart: 8 + n };
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float -> IEEE half bits, rounding to nearest even (exported for tests). */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 255) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is correct
  return sign | half;
}

/** Decodes one entry's bytes (little-endian, any alignment) into a tensor-ready array. */
function decode(name: string, e: SafetensorsEntry, bytes: Uint8Array, start: number): { values: TypedArray; dtype: DType } {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + start + e.dataOffsets[0], e.dataOffsets[1] - e.dataOffsets[0]);
  switch (e.dtype) {
    case 'F32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return { values: out, dtype: 'float32' };
    }
    case 'F64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return { values: out, dtype: 'float64' };
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return { values: out, dtype: 'float32' };
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const w = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) w[i] = dv.getUint16(2 * i, true) << 16;
      return { values: out, dtype: 'float32' };
    }
    case 'I64': {
      // @dl holds integers as int32: accept every value that fits, reject the rest
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const low = dv.getInt32(8 * i, true);
        const high = dv.getInt32(8 * i + 4, true);
        if (high !== low >> 31) {
          throw new SafetensorsError('out-of-range', `entry '${name}' (I64) holds ${(BigInt(high) << 32n) | BigInt(low >>> 0)} at index ${i}, outside int32`);
        }
        out[i] = low;
      }
      return { values: out, dtype: 'int32' };
    }
    case 'I32':
    case 'I16':
    case 'I8':
    case 'U8': {
      const out = new Int32Array(n);
      const get = { I32: (i: number) => dv.getInt32(4 * i, true), I16: (i: number) => dv.getInt16(2 * i, true), I8: (i: number) => dv.getInt8(i), U8: (i: number) => dv.getUint8(i) }[e.dtype];
      for (let i = 0; i < n; i++) out[i] = get(i);
      return { values: out, dtype: 'int32' };
    }
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getUint8(i) ? 1 : 0;
      return { values: out, dtype: 'bool' };
    }
  }
}

export interface ParsedSafetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Parses safetensors bytes into tensors (F32/F16/BF16 -> float32, F64 -> float64,
 * I64/I32/I16/I8/U8 -> int32, BOOL -> bool) and the string metadata.
 *
 *   const { tensors, metadata } = parseSafetensors(bytes);
 *   model.loadStateDict(tensors);
 */
export function parseSafetensors(bytes: Uint8Array, { device }: { device?: string } = {}): ParsedSafetensors {
  const h = readSafetensorsHeader(bytes);
  const tensors: Record<string, Tensor> = {};
  for (const [name, e] of h.entries) {
    const { values, dtype } = decode(name, e, bytes, h.dataStart);
    tensors[name] = tensor(values, { shape: e.shape, dtype, device });
  }
  return { tensors, metadata: h.metadata };
}

const ST_DTYPE: Partial<Record<DType, SafetensorsDType>> = { float32: 'F32', float64: 'F64', float16: 'F16', int32: 'I32', bool: 'BOOL' };

/**
 * Serializes tensors (any device; values are read back) and string metadata to safetensors
 * bytes. float16 tensors are written as F16, the others in their own dtype.
 *
 *   const bytes = await serializeSafetensors(model.stateDict(), { epoch: '3' });
 */
export async function serializeSafetensors(tensors: Record<string, Tensor> | Map<string, Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new SafetensorsError('bad-metadata', `metadata '${k}' must be a string, got ${typeof v}`);
    header.__metadata__ = metadata;
  }
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    if (name === '__metadata__') throw new SafetensorsError('bad-entry', "a tensor cannot be named '__metadata__'");
    const dtype = ST_DTYPE[t.dtype];
    if (!dtype) throw new SafetensorsError('unsupported', `tensor '${name}' has dtype ${t.dtype}, which has no safetensors type`);
    const values = await t.data();
    let blob: Uint8Array;
    if (dtype === 'F16') {
      const h = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) h[i] = floatToHalf(values[i]);
      blob = new Uint8Array(h.buffer);
    } else blob = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + blob.length] };
    blobs.push(blob);
    offset += blob.length;
  }
  let json = JSON.stringify(header);
  // pad with spaces so the data section starts 8-byte aligned, as the reference writer does
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - (hb.length % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    hb = enc.encode(json);
  }
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setUint32(0, hb.length, true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const b of blobs) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

// hides the specifier from browser bundlers; only reached in Node
const nodeFs = 'node:fs/promises';
type Fs = typeof import('node:fs/promises');

/** node:fs/promises, imported on first use so browser builds never touch it. */
export async function fsPromises(): Promise<Fs> {
  return (await import(/* @vite-ignore */ nodeFs)) as Fs;
}

/** `<name>.tmp-<pid>-<time in base 36>`: the temporary files writeFileAtomic makes for `<name>`. */
function tempPattern(name: string): RegExp {
  return new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-(\\d+)-[0-9a-z]+$`);
}

/** The folder and file name of a path, split at its last / (or \ on Windows). */
function splitPath(path: string): [string, string] {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i < 0 ? ['.', path] : [path.slice(0, i) || '/', path.slice(i + 1)];
}

/** Temporary files this process is writing now (never removed as stale). */
const inFlight = new Set<string>();
let writes = 0;

const pid = () => (typeof process !== 'undefined' ? process.pid : 0);

/** Whether process `id` runs (signal 0 tests without sending; EPERM: it runs as another user). */
function alive(id: number): boolean {
  try {
    process.kill(id, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/**
 * Removes the temporary files an interrupted writeFileAtomic left for `path` (a process killed
 * between creating and renaming one). Only names of the exact form `<file>.tmp-<pid>-<stamp>` in
 * the same folder are touched, and only when process <pid> is gone (or is this one, and the file
 * is not one of its writes in progress), so a concurrent writer keeps its file. Best effort: a
 * folder that cannot be listed or written is left alone. Returns the names removed. Node only.
 *
 *   await removeStaleTempFiles('runs/ckpt.safetensors'); // ['ckpt.safetensors.tmp-4242-lx1b2c']
 */
export async function removeStaleTempFiles(path: string): Promise<string[]> {
  const fs = await fsPromises();
  const [dir, name] = splitPath(path);
  const re = tempPattern(name);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = re.exec(n);
    if (!m) continue;
    const owner = Number(m[1]);
    const full = `${dir}/${n}`;
    if (owner === pid() ? inFlight.has(full) : alive(owner)) continue;
    try {
      await fs.rm(full);
      removed.push(n);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/**
 * Writes `bytes` to `path` atomically and durably (Node only): a temporary file in the same
 * folder, fsynced, renamed over the target, then the folder fsynced so the rename itself survives
 * a power loss. A crash never leaves a half-written target; the temporary files earlier crashes
 * left for this target are removed first (see removeStaleTempFiles).
 *
 *   await writeFileAtomic('out/model.safetensors', bytes);
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const fs = await fsPromises();
  await removeStaleTempFiles(path);
  const [dir, name] = splitPath(path);
  const tmp = `${dir}/${name}.tmp-${pid()}-${Date.now().toString(36)}${(writes++).toString(36)}`;
  inFlight.add(tmp);
  try {
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  } finally {
    inFlight.delete(tmp);
  }
  await syncDir(dir);
}

/** fsyncs a folder, so a rename in it is on disk; skipped where folders cannot be opened (Windows). */
async function syncDir(dir: string): Promise<void> {
  const fs = await fsPromises();
  let dh: Awaited<ReturnType<Fs['open']>>;
  try {
    dh = await fs.open(dir, 'r');
  } catch {
    return;
  }
  try {
    await dh.sync();
  } catch (e) {
    // some file systems refuse fsync on a folder (EINVAL, EISDIR on Windows); the rename stands
    if (!['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP', 'EBADF'].includes((e as { code?: string }).code ?? '')) throw e;
  } finally {
    await dh.close();
  }
}

/**
 * Saves tensors to a .safetensors file (atomically; Node only).
 *
 *   await saveSafetensors('model.safetensors', model.stateDict());
 */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, await serializeSafetensors(tensors, metadata));
}

/**
 * Loads a .safetensors file (Node only), first removing temporary files an interrupted save left
 * beside it (see removeStaleTempFiles).
 *
 *   const { tensors } = await loadSafetensors('model.safetensors');
 *   model.loadStateDict(tensors);
 */
export async function loadSafetensors(path: string, opts: { device?: string } = {}): Promise<ParsedSafetensors> {
  const fs = await fsPromises();
  await removeStaleTempFiles(path);
  const bytes = new Uint8Array(await fs.readFile(path));
  return parseFile(path, () => parseSafetensors(bytes, opts));
}
