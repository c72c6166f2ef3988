import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backward } from '@dl/autograd';
import { DeviceError, cpuBackend, manualSeed, randn, registerBackend, scope, tensor, zeros, type Tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { ReLU } from './activation.js';
import { ModuleDict, ModuleList, Sequential } from './container.js';
import { Conv2d } from './conv.js';
import { Embedding, Linear } from './linear.js';
import { crossEntropy } from './loss.js';
import { Module, StateDictError, param } from './module.js';
import { BatchNorm1d, BatchNorm2d } from './norm.js';
import { Adam } from './optim/adam.js';
import { Flatten, MaxPool2d } from './pool.js';
import { saveSafetensors } from './safetensors.js';
import { assertClose, fixture } from './test-helpers.js';

class Block extends Module {
  conv = new Conv2d(4, 4, 3, { padding: 1 });
  bn = new BatchNorm2d(4);
  forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x)).relu();
  }
}

/** Weights tied as GPT-2's: the head reuses the embedding matrix. */
class Tied extends Module {
  emb = new Embedding(5, 3);
  bn = new BatchNorm1d(3);
  head = new Linear(3, 5);
  constructor() {
    super();
    this.head.weight = this.emb.weight;
  }
  forward(idx: Tensor): Tensor {
    const h = this.emb.forward(idx); // [B, T, 3]
    return this.head.forward(this.bn.forward(h.transpose(1, 2)).transpose(1, 2)); // [B, T, 5]
  }
}

class Net extends Module {
  stem = new Conv2d(1, 4, 3);
  layers = [new Block(), new Block()];
  heads = new Map<string, Linear>([['cls', new Linear(4, 10)]]);
  scale = param(tensor([1]));
  notAParameter = tensor([5]); // a plain tensor field is neither a parameter nor a buffer
  forward(x: Tensor): Tensor {
    let h = this.stem.forward(x);
    for (const b of this.layers) h = b.forward(h);
    return this.heads.get('cls')!.forward(h.mean([2, 3])).mul(this.scale);
  }
}

/** PyTorch's nn.Sequential for gen_fixtures.py's interop_model(). */
const interopModel = () => new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * 5 * 5, 10));

describe('Module', () => {
  it('finds parameters by walking fields, arrays and maps, with PyTorch dotted names', () => {
    const names = [...new Net().namedParameters()].map(([n]) => n);
    expect(names).toEqual([
      'scale',
      'stem.weight', 'stem.bias',
      'layers.0.conv.weight', 'layers.0.conv.bias', 'layers.0.bn.weight', 'layers.0.bn.bias',
      'layers.1.conv.weight', 'layers.1.conv.bias', 'layers.1.bn.weight', 'layers.1.bn.bias',
      'heads.cls.weight', 'heads.cls.bias',
    ]);
    const sd = Object.keys(new Net().stateDict());
    expect(sd).toContain('layers.1.bn.running_var');
    expect(sd).toContain('layers.1.bn.num_batches_tracked');
    expect(sd).not.toContain('notAParameter');
  });

  it('names Sequential, ModuleList and ModuleDict children like PyTorch', () => {
    const seq = new Sequential(new Linear(2, 2), new ReLU(), new Linear(2, 1));
    expect(Object.keys(seq.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const named = new Sequential({ fc: new Linear(2, 2), act: new ReLU() });
    expect(Object.keys(named.stateDict())).toEqual(['fc.weight', 'fc.bias']);
    class M extends Module {
      blocks = new ModuleList([new Linear(1, 1), new Linear(1, 1)]);
      heads = new ModuleDict({ a: new Linear(1, 1) });
      forward(): void {}
    }
    expect(Object.keys(new M().stateDict())).toEqual(['blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias', 'heads.a.weight', 'heads.a.bias']);
  });

  it('names arrays of parameters like ParameterList and keeps frozen ones frozen when moved', () => {
    class P extends Module {
      scales = [param(tensor([1])), param(tensor([2]), false)];
      forward(): void {}
    }
    registerBackend({ ...cpuBackend, name: 'cpu2' }); // a second device, to see tensors move
    const m = new P().to('cpu2');
    expect([...m.namedParameters()].map(([n, p]) => `${n}:${p.requiresGrad}:${p.device}`)).toEqual(['scales.0:true:cpu2', 'scales.1:false:cpu2']);
  });

  it('train() and eval() recur', () => {
    const net = new Net().eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.layers[1].bn.training).toBe(true);
  });

  it('apply() visits children before parents', () => {
    const seen: string[] = [];
    new Sequential(new Linear(1, 1), new Sequential(new ReLU())).apply((m) => seen.push(m.constructor.name));
    expect(seen).toEqual(['Linear', 'ReLU', 'Sequential', 'Sequential']);
  });

  it('loadStateDict copies in place and reports every problem by name', () => {
    const a = new Net();
    const b = new Net();
    const w = b.stem.weight;
    b.loadStateDict(a.stateDict());
    expect(b.stem.weight).toBe(w);
    expect(b.stem.weight.toArray()).toEqual(a.stem.weight.toArray());

    const sd = { ...a.stateDict() } as Record<string, Tensor>;
    delete sd['stem.bias'];
    sd['extra.weight'] = zeros([1]);
    sd['heads.cls.weight'] = zeros([3, 4]);
    let err: StateDictError | undefined;
    try {
      b.loadStateDict(sd);
    } catch (e) {
      err = e as StateDictError;
    }
    expect(err).toBeInstanceOf(StateDictError);
    expect(err!.message).toBe('loadStateDict (Net): missing keys: stem.bias; unexpected keys: extra.weight; shape mismatches: heads.cls.weight: expected [10,4], got [3,4]');
    const r = b.loadStateDict(sd, { strict: false });
    expect(r).toEqual({ missingKeys: ['stem.bias'], unexpectedKeys: ['extra.weight'], shapeMismatches: ['heads.cls.weight: expected [10,4], got [3,4]'] });
  });

  it('prints a tree with parameter counts', () => {
    const s = new Sequential(new Linear(4, 3), new ReLU()).toString();
    expect(s).toBe(['Sequential(  # 15 params', '  (0): Linear(inFeatures=4, outFeatures=3, bias=true)  # 15 params', '  (1): ReLU()', ')', 'Parameters: 15'].join('\n'));
  });

  it('to(device) moves parameters and buffers, which stay parameters and buffers', () => {
    registerBackend({ ...cpuBackend, name: 'cpu2' });
    const net = new Net();
    const n = net.parameters().length;
    net.to('cpu2');
    expect(net.parameters().length).toBe(n);
    expect(net.parameters().every((p) => p.requiresGrad && p.device === 'cpu2')).toBe(true);
    expect(net.buffers().every((b) => b.device === 'cpu2')).toBe(true);
    expect(net.forward(randn([1, 1, 6, 6]).to('cpu2')).device).toBe('cpu2');
  });

  it('parameters and buffers made inside scope() outlive it', () => {
    let fc: Linear | undefined;
    let bn: BatchNorm2d | undefined;
    scope(() => {
      fc = new Linear(2, 2);
      bn = new BatchNorm2d(3);
    });
    expect([...fc!.parameters(), ...bn!.parameters(), ...bn!.buffers()].filter((t) => t.isDisposed)).toEqual([]);
    expect(fc!.forward(randn([1, 2])).shape).toEqual([1, 2]);
  });

  it('to(device) moves storage in place: the same objects, ties, grads, buffers and optimizer state', () => {
    registerBackend({ ...cpuBackend, name: 'cpu2' });
    manualSeed(1);
    const m = new Tied();
    const w = m.emb.weight;
    const bias = m.head.bias!;
    const params = m.parameters(); // emb.weight (= head.weight), bn.weight, bn.bias, head.bias
    expect(params).toHaveLength(4);
    const opt = new Adam(params, { lr: 0.05 });
    const idx = tensor([[1, 2, 3]], { dtype: 'int32' });
    const step = (device: string): number =>
      scope(() => {
        opt.zeroGrad();
        const logits = m.forward(idx.to(device)); // [1, 3, 5]
        const loss = crossEntropy(logits.reshape([3, 5]), tensor([2, 3, 4], { dtype: 'int32', device }));
        backward(loss);
        opt.step();
        return loss.item();
      });
    const first = step('cpu'); // Adam's state now exists on the CPU
    m.to('cpu2');
    expect(m.emb.weight).toBe(w);
    expect(m.head.weight).toBe(w); // still one tensor
    expect(m.head.bias).toBe(bias);
    expect(m.parameters().every((p, i) => p === params[i])).toBe(true);
    expect([w.device, w.grad!.device, bias.device, m.bn.runningMean!.device]).toEqual(['cpu2', 'cpu2', 'cpu2', 'cpu2']);
    expect((opt.state.get(w)!.exp_avg as Tensor).device).toBe('cpu2');
    const before = w.toArray();
    let last = first;
    for (let i = 0; i < 5; i++) last = step('cpu2'); // the optimizer built before the move trains
    expect(w.toArray()).not.toEqual(before);
    expect(last).toBeLessThan(first);
    m.to('cpu');
    expect(m.parameters().every((p, i) => p === params[i])).toBe(true);
    expect(w.device).toBe('cpu');
    expect(step('cpu')).toBeLessThan(last);
  });

  it('toAsync moves from a device that reads asynchronously; to() refuses it before moving anything', async () => {
    registerBackend({ ...cpuBackend, name: 'async1', readSync: undefined }); // reads only with await, as WebGPU
    const m = new Tied();
    const values = m.stateDict();
    const copies = Object.fromEntries(Object.entries(values).map(([k, t]) => [k, t.clone()]));
    m.to('async1');
    expect(m.buffers().every((b) => b.device === 'async1')).toBe(true);
    expect(() => m.to('cpu')).toThrow(DeviceError);
    expect(() => m.to('cpu')).toThrow(/await model.toAsync\('cpu'\)/);
    expect(m.parameters().every((p) => p.device === 'async1')).toBe(true);
    const back = await m.toAsync('cpu');
    expect(back).toBe(m);
    for (const [k, t] of Object.entries(m.stateDict())) {
      expect(t).toBe(values[k]);
      expect(t.device).toBe('cpu');
      expect(t.toArray()).toEqual(copies[k].toArray());
    }
  });

  it('namedModules, stateDict, apply, train and toString end on a reference cycle; a shared module is walked once', () => {
    class Child extends Module {
      fc = new Linear(1, 1);
      owner: Module | null = null; // a reference back up the tree
      forward(): void {}
    }
    class Parent extends Module {
      child = new Child();
      alias = this.child.fc; // the same module under a second name
      constructor() {
        super();
        this.child.owner = this;
      }
      forward(): void {}
    }
    const p = new Parent();
    expect([...p.namedModules()].map(([n]) => n)).toEqual(['', 'child', 'child.fc']);
    expect(Object.keys(p.stateDict())).toEqual(['child.fc.weight', 'child.fc.bias', 'alias.weight', 'alias.bias']);
    expect(p.parameters().length).toBe(2);
    const seen: string[] = [];
    p.apply((m) => seen.push(m.constructor.name));
    expect(seen).toEqual(['Linear', 'Child', 'Parent']);
    expect(p.eval().child.fc.training).toBe(false);
    expect(p.child.fc.path).toBe('child.fc');
    expect(p.child.path).toBe('child');
    expect(p.toString()).toContain('(owner): Parent (a reference to a module above)');
    registerBackend({ ...cpuBackend, name: 'cpu2' });
    expect(p.to('cpu2').child.fc.weight.device).toBe('cpu2');
  });

  it('requiresGrad_(false) freezes without losing parameters', () => {
    const net = new Net().requiresGrad_(false);
    expect(net.numParameters()).toBeGreaterThan(0);
    expect(net.numParameters(true)).toBe(0);
    expect(net.toString()).toMatch(/\(0 trainable\)$/);
  });
});

describe('state dicts move between PyTorch and @dl', () => {
  it('a PyTorch state dict (int64 BatchNorm counter included) loads and gives PyTorch outputs', () => {
    const m = interopModel().eval();
    m.loadStateDict(fixture('torch_state_dict'));
    const io = fixture('torch_state_dict_io');
    assertClose(m.forward(io.x), io.y, 'model output');
  });

  // Loading our file in PyTorch needs Debian's python3-torch (scripts/install-torch.sh). Where it is
  // missing this case skips, unless DL_REQUIRE_TORCH=1 (CI sets it): then it fails.
  const python = '/usr/bin/python3';
  const torchMissing = (() => {
    try {
      execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
      return '';
    } catch {
      return `${python} cannot import torch`;
    }
  })();
  const skipTorch = torchMissing !== '' && process.env.DL_REQUIRE_TORCH !== '1';
  if (skipTorch) console.log(`${torchMissing}: skipping the state-dict round trip through PyTorch (set DL_REQUIRE_TORCH=1 to fail instead)`);

  it.skipIf(skipTorch)('a state dict saved by @dl loads into the same PyTorch model with the same outputs', async () => {
    if (torchMissing) throw new Error(`${torchMissing} and DL_REQUIRE_TORCH=1: install python3-torch (scripts/install-torch.sh)`);
    const dir = mkdtempSync(join(tmpdir(), 'dl-layers-'));
    try {
      const m = interopModel();
      m.forward(randn([8, 1, 12, 12])); // train mode: updates running stats
      m.eval();
      const x = randn([3, 1, 12, 12]);
      await saveSafetensors(join(dir, 'sd.safetensors'), m.stateDict());
      await saveSafetensors(join(dir, 'sd_io.safetensors'), { x, y: m.forward(x) });
      const script = new URL('../fixtures/gen_fixtures.py', import.meta.url).pathname;
      const out = JSON.parse(execFileSync(python, [script, '--check', join(dir, 'sd.safetensors')], { encoding: 'utf8' })) as { maxdiff: number; num_batches_tracked: number };
      expect(out.maxdiff).toBeLessThan(1e-5);
      expect(out.num_batches_tracked).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000); // starting Python and importing torch alone can take a minute on a busy 2-core machine
});
