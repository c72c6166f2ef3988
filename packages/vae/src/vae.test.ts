import { readFileSync } from 'node:fs';
import { backward } from '@dl/autograd';
import { Adam, Module, parseSafetensors } from '@dl/layers';
import { DLError, DTypeError, Generator, ShapeError, manualSeed, rand, randn, tensor, zeros, type Tensor } from '@dl/tensor';
import { assertClose } from '@dl/tensor/testing';
import { describe, expect, it } from 'vitest';
import { VAE, gaussianKl, reparameterize, type VAEOptions } from './index.js';

// the PyTorch transcription's outputs (../fixtures/gen_fixtures.py with ../fixtures/vae_torch.py)
const file = parseSafetensors(new Uint8Array(readFileSync(new URL('../fixtures/small.safetensors', import.meta.url))));

/** The tensors `<prefix>.*` with the prefix removed. */
function under(prefix: string, from: Record<string, Tensor> = file.tensors): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(from)) if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = v;
  return out;
}

const CASES = Object.keys(file.metadata).filter((k) => k !== 'format');

describe('VAE matches its PyTorch transcription (fixtures/vae_torch.py)', () => {
  it('has every case of the fixture', () => {
    expect(CASES.sort()).toEqual(['conv', 'conv_gauss_fixed', 'conv_rgb', 'mlp', 'mlp_gauss', 'mlp_nohidden_beta']);
  });

  describe.each(CASES)('%s', (name) => {
    const c = under(name);
    const options = JSON.parse(file.metadata[name]) as VAEOptions;
    const load = () => {
      const vae = new VAE(options);
      vae.loadStateDict(under('param', c)); // strict: every name and shape must match PyTorch's
      return vae;
    };

    it('loads the state dict strictly; encode, decode, the ELBO terms and every gradient agree', () => {
      const vae = load();
      const { mu, logvar } = vae.encode(c.x);
      assertClose(mu, c.mu, 'mu');
      assertClose(logvar, c.logvar, 'logvar');
      assertClose(vae.decode(reparameterize(mu, logvar, { eps: c.eps })), c.out, 'decoder output');
      const { loss, reconstruction, kl } = vae.elbo(c.x, { eps: c.eps });
      assertClose(loss, c.loss, 'loss');
      assertClose(reconstruction, c.rec, 'reconstruction');
      assertClose(kl, c.kl, 'kl');
      backward(loss);
      const grads = under('grad', c);
      const params = [...vae.namedParameters()];
      expect(params.map(([k]) => k).sort()).toEqual(Object.keys(grads).sort());
      for (const [k, p] of params) assertClose(p.grad!, grads[k], `grad of ${k}`, { rtol: 1e-3, atol: 1e-5 });
    });

    it('decodeMean and reconstruct agree', () => {
      const vae = load();
      assertClose(vae.decodeMean(c.zs), c.mean, 'mean of p(x|z)');
      assertClose(vae.reconstruct(c.x), c.recon, 'reconstruct');
    });
  });
});

describe('VAE', () => {
  it("the defaults are PyTorch's examples/vae (784-400-20 MLP, 652,824 parameters); the conv VAE has 258,025", () => {
    const mlp = new VAE();
    expect(mlp.numParameters()).toBe(652_824);
    expect(Object.keys(mlp.stateDict())).toEqual(['encoder.1.weight', 'encoder.1.bias', 'mu.weight', 'mu.bias', 'logvar.weight', 'logvar.bias', 'decoder.0.weight', 'decoder.0.bias', 'decoder.2.weight', 'decoder.2.bias']);
    const conv = new VAE({ arch: 'conv' });
    expect(conv.numParameters()).toBe(258_025);
    const x = rand([2, 1, 28, 28]);
    expect(conv.decode(randn([2, 20])).shape).toEqual([2, 1, 28, 28]);
    expect(conv.encode(x).mu.shape).toEqual([2, 20]);
    expect(new VAE({ likelihood: 'gaussian' }).stateDict().logscale.shape).toEqual([]);
    expect(new VAE({ likelihood: 'gaussian', decoderStd: 0.1 }).stateDict().logscale).toBeUndefined();
  });

  it('the reparameterised draw follows its generator, and gradients reach mu and logvar', () => {
    const mu = tensor([[0.5, -1]]).requiresGrad_();
    const logvar = tensor([[0, Math.log(4)]]).requiresGrad_();
    const z1 = reparameterize(mu, logvar, { generator: new Generator(3) });
    const z2 = reparameterize(mu, logvar, { generator: new Generator(3) });
    expect(Array.from(z1.dataSync())).toEqual(Array.from(z2.dataSync()));
    const eps = randn([1, 2], { generator: new Generator(3) }).dataSync();
    expect(z1.dataSync()[0]).toBeCloseTo(0.5 + eps[0], 6);
    expect(z1.dataSync()[1]).toBeCloseTo(-1 + 2 * eps[1], 6);
    backward(z1.sum());
    expect(Array.from(mu.grad!.dataSync())).toEqual([1, 1]);
    // d/dlogvar of exp(logvar / 2) * eps = exp(logvar / 2) * eps / 2
    expect(logvar.grad!.dataSync()[1]).toBeCloseTo(eps[1], 6);
  });

  it('gaussianKl is 0 at the prior and matches the closed form elsewhere', () => {
    expect(Array.from(gaussianKl(zeros([2, 3]), zeros([2, 3])).dataSync(), (v) => v + 0)).toEqual([0, 0]); // -0 + 0 = 0
    // KL(N(1, 4) || N(0, 1)) = 0.5 (4 + 1 - 1 - log 4)
    expect(gaussianKl(tensor([[1]]), tensor([[Math.log(4)]])).item()).toBeCloseTo(0.5 * (4 + 1 - 1 - Math.log(4)), 6);
  });

  it('elbo: loss = reconstruction + beta * kl (beta from the config or the call); a generator makes it repeatable', () => {
    manualSeed(0);
    const vae = new VAE({ imageShape: [1, 6, 6], hidden: [8], latentDim: 2, beta: 3 });
    const x = rand([4, 1, 6, 6]);
    const a = vae.elbo(x, { generator: new Generator(1) });
    const b = vae.elbo(x, { generator: new Generator(1) });
    expect(a.loss.item()).toBe(b.loss.item());
    expect(a.loss.item()).toBeCloseTo(a.reconstruction.item() + 3 * a.kl.item(), 4);
    const c = vae.elbo(x, { generator: new Generator(1), beta: 0 });
    expect(c.loss.item()).toBeCloseTo(c.reconstruction.item(), 5);
    expect(a.reconstruction.item()).toBe(c.reconstruction.item());
    expect(vae.elbo(x, { generator: new Generator(2) }).loss.item()).not.toBe(a.loss.item());
  });

  it('sample draws from the prior on the model device: Bernoulli means in [0, 1], repeatable with a generator', () => {
    manualSeed(1);
    const vae = new VAE({ arch: 'conv', channels: [2, 3], latentDim: 4 });
    const s = vae.sample(5, { generator: new Generator(7) });
    expect(s.shape).toEqual([5, 1, 28, 28]);
    expect(s.dataSync().every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(Array.from(vae.sample(5, { generator: new Generator(7) }).dataSync())).toEqual(Array.from(s.dataSync()));
    expect(vae.sample(0).shape).toEqual([0, 1, 28, 28]);
    // reconstruct is deterministic (z = mu)
    const x = rand([2, 1, 28, 28]);
    expect(Array.from(vae.reconstruct(x).dataSync())).toEqual(Array.from(vae.reconstruct(x).dataSync()));
  });

  it('a few Adam steps on 16 fixed binary images lower the negative ELBO', () => {
    manualSeed(2);
    const vae = new VAE({ imageShape: [1, 8, 8], hidden: [32], latentDim: 4 });
    const x = rand([16, 1, 8, 8]).gt(0.5).float();
    const opt = new Adam(vae.parameters(), { lr: 1e-2 });
    const g = new Generator(0);
    const first = vae.elbo(x, { generator: new Generator(9) }).loss.item();
    for (let i = 0; i < 60; i++) {
      opt.zeroGrad();
      backward(vae.elbo(x, { generator: g }).loss);
      opt.step();
    }
    const last = vae.elbo(x, { generator: new Generator(9) }).loss.item();
    // 64 fair coin pixels cost 64 log 2 = 44.4 nats; the fixed images can be learnt well below that
    expect(first).toBeGreaterThan(40);
    expect(last).toBeLessThan(0.8 * first);
  });
});

describe('bad input gets typed errors naming what was expected', () => {
  const vae = new VAE();

  it('a latent of the wrong size or dtype', () => {
    expect(() => vae.decode(zeros([3, 16]))).toThrow(ShapeError);
    expect(() => vae.decode(zeros([3, 16]))).toThrow('VAE.decode: expected a latent [N,20] (latentDim 20), got [3,16]');
    expect(() => vae.decode(zeros([20]))).toThrow('VAE.decode: expected a latent [N,20] (latentDim 20), got [20]');
    expect(() => vae.decode(zeros([2, 20], { dtype: 'int32' }))).toThrow(DTypeError);
    expect(() => vae.decode(zeros([2, 20], { dtype: 'int32' }))).toThrow('VAE.decode: expected a float latent [N,20], got int32 [2,20]');
    expect(() => reparameterize(zeros([2, 3]), zeros([2, 3]), { eps: zeros([2, 4]) })).toThrow('reparameterize: eps must have the shape of mu [2,3], got [2,4]');
  });

  it('images of the wrong shape or dtype, in encode, elbo and reconstruct', () => {
    expect(() => vae.encode(zeros([2, 784]))).toThrow('VAE.encode: expected images [N,1,28,28], got [2,784]');
    expect(() => vae.elbo(zeros([2, 1, 32, 32]))).toThrow(ShapeError);
    expect(() => vae.elbo(zeros([2, 1, 32, 32]))).toThrow('VAE.encode: expected images [N,1,28,28], got [2,1,32,32]');
    expect(() => vae.reconstruct(zeros([2, 3, 28, 28]))).toThrow('VAE.encode: expected images [N,1,28,28], got [2,3,28,28]');
    expect(() => vae.encode(zeros([2, 1, 28, 28], { dtype: 'int32' }))).toThrow('VAE.encode: expected float images [N,1,28,28], got int32 [2,1,28,28]');
  });

  it('inside a model, the error names the VAE by its path', () => {
    class Model extends Module {
      vae = new VAE();
      forward(x: Tensor): Tensor {
        return this.vae.elbo(x).loss;
      }
    }
    expect(() => new Model().forward(zeros([1, 2, 28, 28]))).toThrow('vae (VAE).encode: expected images [N,1,28,28], got [1,2,28,28]');
  });

  it('bad settings', () => {
    expect(() => new VAE({ arch: 'conv', imageShape: [1, 30, 30] })).toThrow('VAE: a conv VAE with 2 stride-2 convs needs H and W divisible by 4, got imageShape [1,30,30]');
    expect(() => new VAE({ latentDim: 0 })).toThrow('VAE: latentDim must be a positive integer, got 0');
    expect(() => new VAE({ arch: 'rnn' as 'mlp' })).toThrow(DLError);
    expect(() => new VAE({ arch: 'rnn' as 'mlp' })).toThrow(`VAE: arch must be 'mlp' or 'conv', got "rnn"`);
    expect(() => new VAE({ imageShape: [28, 28] as unknown as [number, number, number] })).toThrow('VAE: imageShape must be [C, H, W] of positive integers, got [28,28]');
    expect(() => new VAE({ hidden: [400, -1] })).toThrow('VAE: hidden must be a list of positive integers, got [400,-1]');
    expect(() => new VAE({ channels: [] })).toThrow('VAE: channels must be a non-empty list of positive integers, got []');
    expect(() => new VAE({ likelihood: 'poisson' as 'gaussian' })).toThrow(`VAE: likelihood must be 'bernoulli' or 'gaussian', got "poisson"`);
    expect(() => new VAE({ likelihood: 'gaussian', decoderStd: 0 })).toThrow(`VAE: decoderStd must be 'learned' or a positive number, got 0`);
    expect(() => new VAE({ beta: -1 })).toThrow('VAE: beta must be a finite number >= 0, got -1');
    expect(() => vae.elbo(rand([1, 1, 28, 28]), { beta: NaN })).toThrow('VAE.elbo: beta must be a finite number >= 0, got NaN');
    expect(() => vae.sample(1.5)).toThrow('VAE.sample: n must be a non-negative integer, got 1.5');
  });
});
