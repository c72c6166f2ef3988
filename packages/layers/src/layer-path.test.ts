// An error raised inside a layer's forward names the layer's path in the model (innermost layer,
// full dotted path from the root), keeps its class and the inner op's text.
import { DeviceError, DLError, DTypeError, ShapeError, cpuBackend, registerBackend, tensor, zeros, type Tensor } from '@dl/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReLU } from './activation.js';
import { ModuleList, Sequential } from './container.js';
import { Conv2d } from './conv.js';
import { Linear } from './linear.js';
import { Module, param } from './module.js';
import { BatchNorm2d } from './norm.js';
import { Flatten, MaxPool2d } from './pool.js';

/** The error fn throws, checked to be an instance of `type`. */
function thrown<E extends Error>(fn: () => unknown, type: abstract new (...a: never[]) => E): E {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    return e as E;
  }
  throw new Error(`expected ${type.name}`);
}

/** A custom block holding a layer in a field, and a bare op in its own forward. */
class Head extends Module {
  fc = new Linear(32, 10);
  forward(x: Tensor): Tensor {
    return this.fc.forward(x);
  }
}

/** A root that feeds x straight to its head. */
class Outer extends Module {
  head = new Head();
  forward(x: Tensor): Tensor {
    return this.head.forward(x);
  }
}

class Net extends Module {
  features = new Sequential(new Conv2d(3, 16, 3, { padding: 1 }), new BatchNorm2d(16), new ReLU(), new Conv2d(16, 32, 3, { padding: 1 }), new MaxPool2d(2));
  pool = new Flatten();
  head = new Head();
  forward(x: Tensor): Tensor {
    const h = this.features.forward(x).mean([2, 3]); // (N, 32)
    return this.head.forward(h);
  }
}

beforeAll(() => registerBackend({ ...cpuBackend, name: 'cpu-other' }));

describe('errors inside forward name the layer path', () => {
  it('ShapeError in a nested Sequential names the innermost layer with its full path, once', () => {
    // never walked: the path is found as the error leaves the forwards
    const f = thrown(() => new Net().forward(zeros([2, 4, 8, 8])), ShapeError);
    expect(f.message).toBe('features.0 (Conv2d): expected input [N,3,H,W], got [2,4,8,8]');
    expect(f.op).toBe('features.0 (Conv2d)');
    expect(f.layer).toBe('features.0 (Conv2d)');
    expect(f.stack?.split('\n')[0]).toBe(`ShapeError: ${f.message}`);
    // a layer called directly, in a model walked before (train() walks it)
    const net = new Net().train();
    const e = thrown(() => net.features.at(3).forward(zeros([2, 8, 4, 4])), ShapeError);
    expect(e.message).toMatch(/^features\.3 \(Conv2d\): expected input \[N,16,H,W\], got \[2,8,4,4\]$/);
  });

  it('ShapeError of an inner op (matmul) keeps the op and its shapes after the path', () => {
    class Proj extends Module {
      w = param(zeros([4, 5]));
      forward(x: Tensor): Tensor {
        return x.matmul(this.w); // (N, 5)
      }
    }
    class Root extends Module {
      body = new Sequential(new ReLU(), new Sequential(new ReLU(), new Proj()));
      forward(x: Tensor): Tensor {
        return this.body.forward(x);
      }
    }
    const e = thrown(() => new Root().forward(zeros([2, 3])), ShapeError);
    expect(e.message).toMatch(/^body\.1\.1 \(Proj\): matmul: .*\[2,3\].*\[4,5\]/);
    expect(e.message.match(/Proj/g)?.length).toBe(1); // the outer layers did not prefix again
    expect(e.op).toBe('matmul'); // the inner op stays the op
    expect(e.layer).toBe('body.1.1 (Proj)');
  });

  it('a layer in a field of a custom module (never walked) gets its dotted path', () => {
    const e = thrown(() => new Outer().forward(zeros([2, 31])), ShapeError);
    expect(e.message).toMatch(/^head\.fc \(Linear\): /);
    expect(e.message).toContain('[2,31]');
    // the same error from the root
    const h = new Head();
    expect(thrown(() => h.forward(zeros([3, 5])), ShapeError).message).toMatch(/^fc \(Linear\): /);
  });

  it("a layer's own check (op = its label) is not prefixed twice and its op becomes the full path", () => {
    const net = new Net().eval(); // eval() walks the model
    const x = zeros([2, 3, 8, 8]);
    const bn = net.features.at(1);
    const e = thrown(() => bn.forward(x), ShapeError); // BatchNorm2d(16) given 3 channels
    expect(e.message).toMatch(/^features\.1 \(BatchNorm2d\): expected input \[N,16,H,W\], got \[2,3,8,8\]$/);
    expect(e.op).toBe('features.1 (BatchNorm2d)');
    expect(e.layer).toBe('features.1 (BatchNorm2d)');
  });

  it('errors in the body of a custom forward name that module', () => {
    class Masked extends Module {
      lin = new Linear(4, 4);
      forward(x: Tensor): Tensor {
        return this.lin.forward(x).maskedFill(zeros([4]), 0); // a float mask: DTypeError from maskedFill
      }
    }
    class Root extends Module {
      blocks = new ModuleList([new Masked(), new Masked()]);
      forward(x: Tensor): Tensor {
        for (const b of this.blocks) x = b.forward(x);
        return x;
      }
    }
    const e = thrown(() => new Root().forward(zeros([2, 4])), DTypeError);
    expect(e.message).toMatch(/^blocks\.0 \(Masked\): maskedFill: mask must be bool/);
    expect(e.op).toBe('maskedFill');
  });

  it('DeviceError: input on another device than the weights names the layer, the devices and shapes', () => {
    const e = thrown(() => new Outer().forward(zeros([2, 32], { device: 'cpu-other' })), DeviceError);
    expect(e.message).toMatch(/^head\.fc \(Linear\): /);
    expect(e.message).toContain('cpu-other');
    expect(e.message).toContain('[2,32]');
    expect(e.message).toContain('[10,32]');
    expect(e.message).toContain('input [2,32] on cpu-other');
    expect(e.message).toContain('weight [10,32] on cpu');
    expect(e.message).toContain('bias [10] on cpu');
    // a layer with two tensor arguments numbers them
    class Pair extends Module {
      w = param(zeros([3]));
      forward(a: Tensor, b: Tensor): Tensor {
        return a.add(b).mul(this.w);
      }
    }
    const p = thrown(() => new Pair().forward(zeros([3]), zeros([3], { device: 'cpu-other' })), DeviceError);
    expect(p.message).toMatch(/^Pair: add: .*; the layer holds w \[3\] on cpu; its forward got argument 0 \[3\] on cpu, argument 1 \[3\] on cpu-other$/);
    // a layer inside a Sequential: the path grows as the error leaves the outer forwards
    const s = thrown(() => new Sequential(new ReLU(), new Linear(3, 2)).forward(zeros([1, 3], { device: 'cpu-other' })), DeviceError);
    expect(s.message).toMatch(/^1 \(Linear\): matmul: .*; the layer holds weight \[2,3\] on cpu, bias \[2\] on cpu; its forward got input \[1,3\] on cpu-other$/);
  });

  it('a subclass calling super.forward is labelled once, by the subclass', () => {
    class Clipped extends Linear {
      override forward(x: Tensor): Tensor {
        return super.forward(x).clamp(-1, 1);
      }
    }
    class Root extends Module {
      out = new Clipped(3, 2);
      forward(x: Tensor): Tensor {
        return this.out.forward(x);
      }
    }
    const e = thrown(() => new Root().forward(zeros([1, 4])), ShapeError);
    expect(e.message).toMatch(/^out \(Clipped\): /);
    expect(e.message.match(/Clipped/g)?.length).toBe(1);
  });

  it('leaves other errors alone, and forward is not a field the walk or a state dict sees', () => {
    class Boom extends Module {
      forward(): never {
        throw new TypeError('not a DLError');
      }
    }
    const e = thrown(() => new Boom().forward(), TypeError);
    expect(e.message).toBe('not a DLError');
    const net = new Net();
    expect(Object.keys(net)).not.toContain('forward');
    expect(Object.keys(net.stateDict()).some((k) => k.includes('forward'))).toBe(false);
    expect(net.forward(zeros([1, 3, 4, 4])).shape).toEqual([1, 10]); // still works
    expect(tensor([1]).shape).toEqual([1]);
  });

  it('an error a layer catches itself is not relabelled by an outer one; a second error gets its own path', () => {
    class Fallback extends Module {
      fc = new Linear(4, 2);
      caught: unknown = null;
      forward(x: Tensor): Tensor {
        try {
          return this.fc.forward(x);
        } catch (e) {
          this.caught = e;
          return zeros([x.shape[0], 2]);
        }
      }
    }
    const fallback = new Fallback();
    const ok = new Sequential(fallback, new Linear(2, 3));
    expect(ok.forward(zeros([5, 7])).shape).toEqual([5, 3]);
    // caught inside the model before any walk: only the forward it left has labelled it
    expect((fallback.caught as Error).message).toBe('Linear: expected input [...,4], got [5,7]');
    const bad = new Sequential(new Fallback(), new Linear(3, 3));
    const e = thrown(() => bad.forward(zeros([5, 7])), DLError);
    expect(e.message).toBe('1 (Linear): expected input [...,3], got [5,2]');
  });
});
