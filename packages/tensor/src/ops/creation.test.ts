import { describe, expect, it } from 'vitest';
import {
  DTypeError, arange, cast, eye, full, fullLike, linspace, ones, onesLike, rand, randint, randn, tensor, zeros, zerosLike, type DType, type Tensor,
} from '../index.js';

/** The DTypeError `f` throws (fails the test when it throws something else or nothing). */
function dtypeError(f: () => unknown): DTypeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DTypeError);
    return e as DTypeError;
  }
  throw new Error('expected a DTypeError, nothing was thrown');
}

// Every way to name a dtype at creation: an unknown or unsupported name must be a DTypeError
// naming the op and the name (with a hint for PyTorch's names), never a TypeError from inside.
const CREATORS: [string, (dtype: DType) => Tensor][] = [
  ['tensor', (dtype) => tensor([1, 2], { dtype })],
  ['tensor', (dtype) => tensor(new Float32Array([1, 2]), { dtype })],
  ['full', (dtype) => full([2], 3, { dtype })],
  ['full', (dtype) => zeros([2], { dtype })],
  ['full', (dtype) => ones([2], { dtype })],
  ['full', (dtype) => zerosLike(zeros([2]), { dtype })],
  ['full', (dtype) => onesLike(zeros([2]), { dtype })],
  ['full', (dtype) => fullLike(zeros([2]), 1, { dtype })],
  ['arange', (dtype) => arange(0, 3, 1, { dtype })],
  ['linspace', (dtype) => linspace(0, 1, 3, { dtype })],
  ['eye', (dtype) => eye(2, 2, { dtype })],
  ['rand', (dtype) => rand([2], { dtype })],
  ['randn', (dtype) => randn([2], { dtype })],
  ['randint', (dtype) => randint(0, 5, [2], { dtype })],
  ['cast', (dtype) => cast(zeros([2]), dtype)],
];

describe('creation dtypes', () => {
  it('int64 (and PyTorch long) raise a DTypeError in every creation function, with the int32 hint', () => {
    for (const [op, make] of CREATORS) {
      for (const name of ['int64', 'long']) {
        const e = dtypeError(() => make(name as DType));
        expect(e.op, `${op} ${name}`).toBe(op);
        expect(e.message, `${op} ${name}`).toContain(`'${name}'`);
        expect(e.message, `${op} ${name}`).toMatch(/use 'int32'/);
      }
    }
  });

  it('unknown names (float, double, uint8, a typo, a number) raise a DTypeError listing the dtypes', () => {
    const hints: Record<string, RegExp> = { float: /use 'float32'/, double: /use 'float64'/, uint8: /'int32' or 'bool'/, bfloat16: /'float16' or 'float32'/, flaot32: /float32, float64, float16, int32, bool/ };
    for (const [op, make] of CREATORS) {
      for (const [name, hint] of Object.entries(hints)) {
        const e = dtypeError(() => make(name as DType));
        expect(e.message, `${op} ${name}`).toMatch(hint);
      }
      expect(dtypeError(() => make(7 as unknown as DType)).message, `${op} 7`).toMatch(/unknown dtype 7/);
    }
  });

  it('known dtypes still work', () => {
    expect(tensor([1, 2], { dtype: 'int32' }).dtype).toBe('int32');
    expect(Array.from(tensor([1.5, 2], { dtype: 'float64' }).dataSync())).toEqual([1.5, 2]);
    expect(zeros([2], { dtype: 'bool' }).dtype).toBe('bool');
    expect(eye(2, 2, { dtype: 'int32' }).dtype).toBe('int32');
  });
});
