// scaledDotProductAttention against PyTorch's documented math (fixtures), and the fused kernel
// against the composed reference path: values, gradients, masks, broadcasting, float64.
import { backward, gradcheck } from '@dl/autograd';
import { Generator, addDispatchListener, manualSeed, randint, randn, tensor, zeros, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { scaledDotProductAttention as sdpa, attend } from './attention.js';
import { fusedAttention } from './fused-attention.js';
import { assertClose, maxAbsDiff, small, smallMeta } from './test-helpers.js';

const CASES = ['plain', 'causal', 'causal_long_q', 'bool_mask', 'float_mask', 'scale_3d', 'broadcast_kv'];

/** Runs sdpa on the case's inputs; returns the output and the gradients of sum(y * r). */
function runCase(name: string, fused: boolean): { y: Tensor; grads: Tensor[] } {
  const meta = smallMeta<{ is_causal?: boolean; scale?: number }>(`sdpa.${name}`);
  const [q, k, v] = ['q', 'k', 'v'].map((r) => small(`sdpa.${name}.${r}`).clone().requiresGrad_());
  const mask = name.endsWith('mask') ? small(`sdpa.${name}.mask`) : null;
  const y = sdpa(q, k, v, { attnMask: mask, isCausal: meta.is_causal, scale: meta.scale, fused });
  backward(y.mul(small(`sdpa.${name}.r`)).sum());
  return { y, grads: [q.grad!, k.grad!, v.grad!] };
}

/** Counts the fused kernel's launches while fn runs. */
function fusedCalls(fn: () => void): number {
  let n = 0;
  const remove = addDispatchListener((op) => {
    if (op === fusedAttention.name) n++;
  });
  try {
    fn();
  } finally {
    remove();
  }
  return n;
}

describe('scaledDotProductAttention', () => {
  for (const fused of [true, false]) {
    it.each(CASES)(`%s: output and q, k, v gradients match PyTorch's math (${fused ? 'fused kernel' : 'composed reference'})`, (name) => {
      let r!: ReturnType<typeof runCase>;
      expect(fusedCalls(() => (r = runCase(name, fused)))).toBe(fused ? 1 : 0);
      assertClose(r.y, small(`sdpa.${name}.y`), `${name} y`);
      ['q', 'k', 'v'].forEach((role, i) => assertClose(r.grads[i], small(`sdpa.${name}.grad_${role}`), `${name} grad ${role}`));
    });
  }

  it('a query whose keys are all masked gives zeros and zero gradients (both paths)', () => {
    const q = randn([1, 1, 3, 4]).requiresGrad_();
    const k = randn([1, 1, 5, 4]);
    const v = randn([1, 1, 5, 2]);
    const keep = tensor([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, 1, 1, 1]]).bool();
    for (const fused of [true, false]) {
      q.grad = null;
      const y = sdpa(q, k, v, { attnMask: keep, fused }); // (1, 1, 3, 2)
      expect([...y.select(2, 1).dataSync()]).toEqual([0, 0]);
      expect(Number.isFinite(maxAbsDiff(y, y))).toBe(true);
      backward(y.sum());
      expect([...q.grad!.select(2, 1).dataSync()]).toEqual([0, 0, 0, 0]);
      expect([...q.grad!.dataSync()].every(Number.isFinite)).toBe(true);
    }
  });

  it('a bool mask and the equivalent additive mask (0 / -Infinity) give the same result', () => {
    manualSeed(3);
    const [q, k, v] = [randn([2, 2, 4, 8]), randn([2, 2, 6, 8]), randn([2, 2, 6, 8])];
    const keep = randint(0, 2, [2, 1, 4, 6]).bool().logicalOr(tensor([1, 0, 0, 0, 0, 0]).bool()); // key 0 always kept
    const additive = zeros([2, 1, 4, 6]).maskedFill(keep.logicalNot(), -Infinity);
    expect(maxAbsDiff(sdpa(q, k, v, { attnMask: keep }), sdpa(q, k, v, { attnMask: additive }))).toBe(0);
  });

  it('the fused kernel equals the composed path in float64, with strided (transposed, narrowed) views and a causal offset', () => {
    manualSeed(4);
    const x = randn([2, 9, 3, 8], { dtype: 'float64' }); // (B, T, H, hs), as a head split leaves it
    const q = x.transpose(1, 2).narrow(2, 6, 3); // (2, 3, 3, 8): the last 3 positions
    const kv = randn([2, 3, 12, 8], { dtype: 'float64' }).narrow(2, 0, 9); // a cache's filled prefix
    for (const causalOffset of [undefined, 0, 6, -1]) {
      const a = attend(q, kv, kv, { causalOffset, fused: true });
      const b = attend(q, kv, kv, { causalOffset, fused: false });
      expect(maxAbsDiff(a, b), `causalOffset ${causalOffset}`).toBeLessThan(1e-12);
    }
  });

  it('its gradient rule passes a float64 gradcheck, mask gradient included', () => {
    manualSeed(5);
    const q = randn([1, 2, 3, 4], { dtype: 'float64' }).requiresGrad_();
    const k = randn([1, 2, 5, 4], { dtype: 'float64' }).requiresGrad_();
    const v = randn([1, 2, 5, 3], { dtype: 'float64' }).requiresGrad_();
    const m = randn([1, 2, 3, 5], { dtype: 'float64' }).requiresGrad_();
    expect(gradcheck((a, b, c, d) => fusedAttention([a, b, c, d], { scale: 0.7, causal: 1 }), [q, k, v, m]).ok).toBe(true);
  });

  it('decoding one query against a growing cache with causalOffset equals the rows of the full causal attention', () => {
    manualSeed(6);
    const [q, k, v] = [randn([1, 2, 6, 4]), randn([1, 2, 6, 4]), randn([1, 2, 6, 4])];
    const full = sdpa(q, k, v, { isCausal: true });
    for (let t = 0; t < 6; t++) {
      const row = attend(q.narrow(2, t, 1), k.narrow(2, 0, t + 1), v.narrow(2, 0, t + 1), { causalOffset: t });
      expect(maxAbsDiff(row, full.narrow(2, t, 1))).toBeLessThan(1e-6);
    }
  });

  it('dropout takes the composed path and follows its generator', () => {
    const [q, k, v] = [randn([1, 1, 4, 4]), randn([1, 1, 4, 4]), randn([1, 1, 4, 4])];
    let a!: Tensor;
    expect(fusedCalls(() => (a = sdpa(q, k, v, { dropoutP: 0.5, generator: new Generator(1) })))).toBe(0);
    const b = sdpa(q, k, v, { dropoutP: 0.5, generator: new Generator(1) });
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(a, sdpa(q, k, v))).toBeGreaterThan(0);
  });
});
