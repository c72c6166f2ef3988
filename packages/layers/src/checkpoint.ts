import { DLError, Tensor } from '@dl/tensor';
import type { Module } from './module.js';
import type { BaseOptions, Optimizer, ParamState } from './optim/optimizer.js';
import { fsPromises, parseFile, parseSafetensors, removeStaleTempFiles, serializeSafetensors, writeFileAtomic } from './safetensors.js';

const FORMAT = 'dl-checkpoint/1';

export interface CheckpointContents {
  model: Module;
  optimizer?: Optimizer<BaseOptions>;
  /** more optimizers by name (a GAN's two, an actor's and a critic's), beside or instead of `optimizer` */
  optimizers?: Record<string, Optimizer<BaseOptions>>;
  /** training step (or epoch) the checkpoint was taken at */
  step: number;
  /** anything JSON-serialisable: epoch, RNG counters, best metric, config */
  extra?: Record<string, unknown>;
}

/** An optimizer's metadata in a checkpoint: its class, groups and the scalar state. */
interface OptimizerMeta {
  type: string;
  paramGroups: Record<string, unknown>[];
  scalars: Record<string, Record<string, number>>;
}

/** Puts an optimizer's state tensors under `<prefix>.<param index>.<key>`; returns the rest. */
function optimizerEntries(optimizer: Optimizer<BaseOptions>, prefix: string, tensors: Map<string, Tensor>): OptimizerMeta {
  const sd = optimizer.stateDict();
  const scalars: Record<string, Record<string, number>> = {};
  for (const [i, st] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(st)) {
      if (v instanceof Tensor) tensors.set(`${prefix}.${i}.${k}`, v);
      else (scalars[i] ??= {})[k] = v;
    }
  }
  return { type: optimizer.constructor.name, paramGroups: sd.paramGroups, scalars };
}

/**
 * A checkpoint as one safetensors file: model tensors under `model.<name>` (so the file also
 * loads as a plain state dict after stripping the prefix), optimizer state tensors under
 * `optimizer.<param index>.<key>` (named optimizers: `optimizers.<name>.<param index>.<key>`),
 * and step, optimizer groups and `extra` as JSON metadata.
 */
export async function serializeCheckpoint({ model, optimizer, optimizers = {}, step, extra = {} }: CheckpointContents): Promise<Uint8Array> {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of Object.entries(model.stateDict())) tensors.set(`model.${k}`, t);
  const meta: Record<string, string> = { format: FORMAT, step: String(step), extra: JSON.stringify(extra) };
  if (optimizer) meta.optimizer = JSON.stringify(optimizerEntries(optimizer, 'optimizer', tensors));
  const named = Object.entries(optimizers);
  if (named.length) meta.optimizers = JSON.stringify(Object.fromEntries(named.map(([name, o]) => [name, optimizerEntries(o, `optimizers.${name}`, tensors)])));
  return serializeSafetensors(tensors, meta);
}

/** Loads one optimizer's state from its metadata and its tensors by param index. */
function restoreOptimizer(optimizer: Optimizer<BaseOptions>, o: OptimizerMeta, tensors: Map<string, Record<string, Tensor>>, what: string): void {
  if (o.type !== optimizer.constructor.name) throw new DLError('loadCheckpoint', `checkpoint holds ${o.type} state${what}, the optimizer is ${optimizer.constructor.name}`);
  const state: Record<number, ParamState> = {};
  for (const i of new Set([...tensors.keys(), ...Object.keys(o.scalars)])) state[Number(i)] = { ...o.scalars[i], ...tensors.get(i) };
  optimizer.loadStateDict({ state, paramGroups: o.paramGroups });
  for (const m of tensors.values()) for (const t of Object.values(m)) t.dispose();
}

/** Restores model (strictly) and optimizers from checkpoint bytes; returns step and extra. */
export function restoreCheckpoint(
  bytes: Uint8Array,
  { model, optimizer, optimizers = {} }: { model: Module; optimizer?: Optimizer<BaseOptions>; optimizers?: Record<string, Optimizer<BaseOptions>> },
): { step: number; extra: Record<string, unknown> } {
  const { tensors, metadata } = parseSafetensors(bytes);
  if (metadata.format !== FORMAT) throw new DLError('loadCheckpoint', `not a @dl checkpoint (format ${JSON.stringify(metadata.format)}, expected ${FORMAT})`);
  const modelSd = new Map<string, Tensor>();
  // optimizer state tensors by optimizer ('' = `optimizer`, else its name), then param index
  const optTensors = new Map<string, Map<string, Record<string, Tensor>>>();
  const addOpt = (name: string, i: string, key: string, t: Tensor) => {
    const byIndex = optTensors.get(name) ?? optTensors.set(name, new Map()).get(name)!;
    (byIndex.get(i) ?? byIndex.set(i, {}).get(i)!)[key] = t;
  };
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model.')) modelSd.set(k.slice(6), t);
    else if (k.startsWith('optimizer.')) {
      const [, i, ...rest] = k.split('.');
      addOpt('', i, rest.join('.'), t);
    } else if (k.startsWith('optimizers.')) {
      const [, name, i, ...rest] = k.split('.');
      addOpt(name, i, rest.join('.'), t);
    }
  }
  model.loadStateDict(modelSd);
  for (const t of modelSd.values()) t.dispose();
  if (optimizer) {
    if (!metadata.optimizer) throw new DLError('loadCheckpoint', 'the checkpoint has no optimizer state');
    restoreOptimizer(optimizer, JSON.parse(metadata.optimizer) as OptimizerMeta, optTensors.get('') ?? new Map(), '');
  }
  const named = Object.entries(optimizers);
  if (named.length) {
    const saved = JSON.parse(metadata.optimizers ?? '{}') as Record<string, OptimizerMeta>;
    for (const [name, opt] of named) {
      if (!saved[name]) throw new DLError('loadCheckpoint', `the checkpoint has no state of optimizer '${name}' (it has: ${Object.keys(saved).map((n) => `'${n}'`).join(', ') || 'none'})`);
      restoreOptimizer(opt, saved[name], optTensors.get(name) ?? new Map(), ` for '${name}'`);
    }
  }
  // state of optimizers not asked for (e.g. loading a training checkpoint to evaluate) is freed, not left live
  const restored = new Set([...(optimizer ? [''] : []), ...named.map(([n]) => n)]);
  for (const [name, m] of optTensors) if (!restored.has(name)) for (const r of m.values()) for (const t of Object.values(r)) t.dispose();
  return { step: Number(metadata.step), extra: JSON.parse(metadata.extra ?? '{}') as Record<string, unknown> };
}

/**
 * Writes a checkpoint atomically and durably (temporary file, fsync, rename, fsync of the folder),
 * so an interrupted write never replaces a good checkpoint with a broken one, and removes the
 * temporary files earlier interrupted writes left (Node only).
 *
 *   await saveCheckpoint('ckpt.safetensors', { model, optimizer, step, extra: { epoch } });
 */
export async function saveCheckpoint(path: string, contents: CheckpointContents): Promise<void> {
  await writeFileAtomic(path, await serializeCheckpoint(contents));
}

/**
 * Loads a checkpoint into model and optimizer (Node only); returns the step to resume from.
 * Temporary files a killed save left beside it are removed first.
 *
 *   const { step, extra } = await loadCheckpoint('ckpt.safetensors', { model, optimizer });
 *   await loadCheckpoint('gan.safetensors', { model: gan, optimizers: { optG, optD } }); // named optimizers
 */
export async function loadCheckpoint(
  path: string,
  target: { model: Module; optimizer?: Optimizer<BaseOptions>; optimizers?: Record<string, Optimizer<BaseOptions>> },
): Promise<{ step: number; extra: Record<string, unknown> }> {
  const fs = await fsPromises();
  await removeStaleTempFiles(path);
  const bytes = new Uint8Array(await fs.readFile(path));
  return parseFile(path, () => restoreCheckpoint(bytes, target));
}
