import { IndexError, tensor } from '@dl/tensor';
import { describe, expect, it } from 'vitest';
import { ReLU, Tanh } from './activation.js';
import { ModuleDict, ModuleList, Sequential } from './container.js';
import { Linear } from './linear.js';

describe('containers', () => {
  it('Sequential chains forward, indexes from both ends and appends', () => {
    const s = new Sequential(new ReLU(), new Tanh());
    expect(s.forward(tensor([-1, 0.5])).toArray()).toEqual([0, Math.fround(Math.tanh(0.5))]);
    expect(s.at(-1)).toBeInstanceOf(Tanh);
    expect(() => s.at(2)).toThrow(IndexError);
    s.append(new Linear(2, 1));
    expect(s.length).toBe(3);
    expect([...s].map((m) => m.constructor.name)).toEqual(['ReLU', 'Tanh', 'Linear']);
    expect(Object.keys(s.stateDict())).toEqual(['2.weight', '2.bias']);
  });

  it('ModuleList and ModuleDict hold modules and have no forward', () => {
    const l = new ModuleList([new Linear(1, 1)]).push(new Linear(1, 2));
    expect(l.at(1).outFeatures).toBe(2);
    expect(() => l.forward()).toThrow(/iterate over its modules/);
    const d = new ModuleDict({ a: new Linear(1, 1) }).set('b', new Linear(1, 3));
    expect([...d.keys()]).toEqual(['a', 'b']);
    expect(d.get('b').outFeatures).toBe(3);
    expect(() => d.get('c')).toThrow("ModuleDict: no module named 'c' (have: a, b)");
  });
});
