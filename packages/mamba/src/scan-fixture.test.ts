import { backward } from '@dl/autograd';
import { describe, it } from 'vitest';
import { selectiveScan } from './index.js';
import { expectClose, fixture } from './test-helpers.js';

// scan-io.safetensors: PyTorch's selective_scan_ref (make_mamba_fixture.py), float64
const io = (k: string) => fixture('scan-io.safetensors', k);

describe('selectiveScan against the PyTorch reference (committed fixture)', () => {
  for (const [name, z, softplus] of [['var', true, true], ['fixed_b', false, false], ['fixed_c', true, true]] as const) {
    it(`${name}: y, last state and the gradient of every input`, () => {
      const keys = ['u', 'delta', 'A', 'B', 'C', 'D', 'z', 'delta_bias'];
      const x = Object.fromEntries(keys.map((k) => [k, io(`${name}.${k}`).clone().requiresGrad_()]));
      const { y, lastState } = selectiveScan(x.u, x.delta, x.A, x.B, x.C, x.D, { z: z ? x.z : null, deltaBias: x.delta_bias, deltaSoftplus: softplus, returnLastState: true });
      expectClose(y, io(`${name}.y`), 1e-10, 1e-12, 'y');
      expectClose(lastState, io(`${name}.last_state`), 1e-10, 1e-12, 'last_state');
      backward(y.mul(io(`${name}.w`)).sum().add(lastState.mul(io(`${name}.ws`)).sum()));
      for (const k of keys) if (k !== 'z' || z) expectClose(x[k].grad!, io(`${name}.grad.${k}`), 1e-9, 1e-11, `d${k}`);
    });
  }
});
