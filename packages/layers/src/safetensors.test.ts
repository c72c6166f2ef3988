import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arange, tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { SafetensorsError, floatToHalf, halfToFloat, loadSafetensors, parseSafetensors, readSafetensorsHeader, saveSafetensors, serializeSafetensors } from './safetensors.js';
import { fixture } from './test-helpers.js';

/** A file with a hand-written header and `dataLen` zero bytes of data. */
function craft(header: unknown, dataLen: number, lengthOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + dataLen);
  new DataView(out.buffer).setUint32(0, lengthOverride ?? h.length, true);
  out.set(h, 8);
  return out;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return (e as SafetensorsError).code;
  }
  return 'no error';
}

describe('parseSafetensors', () => {
  it('reads every dtype PyTorch wrote (F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL) and the metadata', () => {
    const t = fixture('dtypes');
    const v = [0, 1.5, -2.25, 16376, 0.0010000000474974513, -0];
    expect(Array.from(t.f32.dataSync())).toEqual(v);
    expect(t.f64.dtype).toBe('float64');
    expect(t.f64.dataSync()[4]).toBe(Math.fround(0.001)); // the fixture's f64 values are widened float32s
    expect(Array.from(t.f16.dataSync())).toEqual([0, 1.5, -2.25, 16376, 0.0010004043579101562, -0]);
    expect(Array.from(t.bf16.dataSync())).toEqual([0, 1.5, -2.25, 16384, 0.00099945068359375, -0]);
    expect(t.i64.dtype).toBe('int32');
    expect(t.i64.toArray()).toEqual([[0, -1], [2147483647, -2147483648]]);
    expect(t.i32.toArray()).toEqual([1, -7, 3]);
    expect(t.i16.toArray()).toEqual([-300, 300]);
    expect(t.i8.toArray()).toEqual([-5, 5]);
    expect(t.u8.toArray()).toEqual([0, 255]);
    expect(t.bool.toArray()).toEqual([true, false, true]);
    expect(t.empty.shape).toEqual([0, 3]);
  });

  it('round-trips tensors and metadata, with the data section 8-byte aligned', async () => {
    const bytes = await serializeSafetensors({ a: arange(6).reshape([2, 3]), b: tensor([1.5, -2]), c: tensor([true, false]) }, { epoch: '3' });
    const h = readSafetensorsHeader(bytes);
    expect(h.dataStart % 8).toBe(0);
    expect(h.metadata).toEqual({ epoch: '3' });
    const { tensors } = parseSafetensors(bytes);
    expect(tensors.a.toArray()).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(tensors.a.dtype).toBe('int32');
    expect(tensors.b.toArray()).toEqual([1.5, -2]);
    expect(tensors.c.toArray()).toEqual([true, false]);
  });

  it('rejects truncated files, oversized and broken headers', () => {
    expect(code(() => parseSafetensors(new Uint8Array(5)))).toBe('truncated');
    expect(code(() => parseSafetensors(craft({}, 0, 1000)))).toBe('truncated');
    expect(code(() => parseSafetensors(craft({}, 0, 200_000_000)))).toBe('header-too-large');
    expect(code(() => parseSafetensors(craft('{"a": ', 0)))).toBe('bad-json');
    expect(code(() => parseSafetensors(craft('[1,2]', 0)))).toBe('bad-json');
    expect(code(() => parseSafetensors(craft({ __metadata__: { a: 1 } }, 0)))).toBe('bad-metadata');
  });

  it('rejects headers that lie about dtypes, shapes and offsets, without reading out of bounds', () => {
    const e = (dtype: string, shape: unknown, off: unknown) => ({ dtype, shape, data_offsets: off });
    expect(code(() => parseSafetensors(craft({ a: e('F8', [1], [0, 1]) }, 1)))).toBe('bad-dtype');
    expect(code(() => parseSafetensors(craft({ a: e('F32', [-1], [0, 4]) }, 4)))).toBe('bad-entry');
    expect(code(() => parseSafetensors(craft({ a: e('F32', [2], [0, 8]) }, 4)))).toBe('bad-offsets'); // past the end
    expect(code(() => parseSafetensors(craft({ a: e('F32', [2], [0, 4]) }, 8)))).toBe('bad-offsets'); // size mismatch
    expect(code(() => parseSafetensors(craft({ a: e('F32', [1], [4, 0]) }, 8)))).toBe('bad-offsets');
    expect(code(() => parseSafetensors(craft({ a: e('F32', [2], [0, 8]), b: e('F32', [2], [4, 12]) }, 12)))).toBe('overlap');
    expect(code(() => parseSafetensors(craft({ a: e('F32', [1], [1.5, 5.5]) }, 8)))).toBe('bad-offsets');
  });

  it('rejects int64 values that do not fit int32', () => {
    const bytes = craft({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8);
    bytes[bytes.length - 1] = 1; // high word
    expect(code(() => parseSafetensors(bytes))).toBe('out-of-range');
  });

  it('converts float16 both ways with round-to-nearest-even', () => {
    for (const v of [0, 1, -2.5, 65504, 6.103515625e-5, 5.960464477539063e-8, Infinity]) expect(halfToFloat(floatToHalf(v))).toBe(v);
    expect(halfToFloat(floatToHalf(1 + 2 ** -11))).toBe(1); // a tie rounds to even
    expect(halfToFloat(floatToHalf(70000))).toBe(Infinity);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });
});

describe('saveSafetensors / loadSafetensors', () => {
  it('writes atomically (no temporary file left) and reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-st-'));
    try {
      const p = join(dir, 'w.safetensors');
      await saveSafetensors(p, { w: tensor([[1, 2]]) }, { note: 'x' });
      await saveSafetensors(p, { w: tensor([[3, 4]]) });
      expect(readdirSync(dir)).toEqual(['w.safetensors']);
      const { tensors, metadata } = await loadSafetensors(p);
      expect(tensors.w.toArray()).toEqual([[3, 4]]);
      expect(metadata).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
