import { DLError, Tensor } from '@dl/tensor';
import type { Module } from './module.js';
import type { BaseOptions, Optimizer, ParamState } from './optim/optimizer.js';
import { fsPromises, parseFile, parseSafetensors, removeStaleTempFiles, serializeSafetensors, writeFileAtomic } from './safetensors.js';

const FORMAT = 'dl-checkpoint/1';

export interface CheckpointContents {
  model: Module;
  optimizer?: Optimizer<BaseOptions>;
  /** training step (or epoch) the checkpoint was taken at */
  step: number;
  /** anything JSON-serialisable: epoch, RNG counters, best metric, config */
  extra?: Record<string, unknown>;
}

/**
 * A checkpoint as one safetensors file: model tensors under `model.<name>` (so the file also
 * loads as a plain state dict after stripping the prefix), optimizer state tensors under
 * `optimizer.<param index>.<key>`, and step, optimizer groups and `extra` as JSON metadata.
 */
export async function serializeCheckpoint({ model, optimizer, step, extra = {} }: CheckpointContents): Promise<Uint8Array> {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of Object.entries(model.stateDict())) tensors.set(`model.${k}`, t);
  const meta: Record<string, string> = { format: FORMAT, step: String(step), extra: JSON.stringify(extra) };
  if (optimizer) {
    const sd = optimizer.stateDict();
    const scalars: Record<string, Record<string, number>> = {};
    for (const [i, st] of Object.entries(sd.state)) {
      for (const [k, v] of Object.entries(st)) {
        if (v instanceof Tensor) tensors.set(`optimizer.${i}.${k}`, v);
        else (scalars[i] ??= {})[k] = v;
      }
    }
    meta.optimizer = JSON.stringify({ type: optimizer.constructor.name, paramGroups: sd.paramGroups, scalars });
  }
  return serializeSafetensors(tensors, meta);
}

/** Restores model (strictly) and optimizer from checkpoint bytes; returns step and extra. */
export function restoreCheckpoint(bytes: Uint8Array, { model, optimizer }: { model: Module; optimizer?: Optimizer<BaseOptions> }): { step: number; extra: Record<string, unknown> } {
  const { tensors, metadata } = parseSafetensors(bytes);
  if (metadata.format !== FORMAT) throw new DLError('loadCheckpoint', `not a @dl checkpoint (format ${JSON.stringify(metadata.format)}, expected ${FORMAT})`);
  const modelSd = new Map<string, Tensor>();
  const optTensors = new Map<string, Record<string, Tensor>>();
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model.')) modelSd.set(k.slice(6), t);
    else if (k.startsWith('optimizer.')) {
      const [, i, ...rest] = k.split('.');
      (optTensors.get(i) ?? optTensors.set(i, {}).get(i)!)[rest.join('.')] = t;
    }
  }
  model.loadStateDict(modelSd);
  for (const t of modelSd.values()) t.dispose();
  if (optimizer) {
    if (!metadata.optimizer) throw new DLError('loadCheckpoint', 'the checkpoint has no optimizer state');
    const o = JSON.parse(metadata.optimizer) as { type: string; paramGroups: Record<string, unknown>[]; scalars: Record<string, Record<string, number>> };
    if (o.type !== optimizer.constructor.name) throw new DLError('loadCheckpoint', `checkpoint holds ${o.type} state, the optimizer is ${optimizer.constructor.name}`);
    const state: Record<number, ParamState> = {};
    for (const i of new Set([...optTensors.keys(), ...Object.keys(o.scalars)])) state[Number(i)] = { ...o.scalars[i], ...optTensors.get(i) };
    optimizer.loadStateDict({ state, paramGroups: o.paramGroups });
    for (const m of optTensors.values()) for (const t of Object.values(m)) t.dispose();
  }
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
 */
export async function loadCheckpoint(path: string, target: { model: Module; optimizer?: Optimizer<BaseOptions> }): Promise<{ step: number; extra: Record<string, unknown> }> {
  const fs = await fsPromises();
  await removeStaleTempFiles(path);
  const bytes = new Uint8Array(await fs.readFile(path));
  return parseFile(path, () => restoreCheckpoint(bytes, target));
}
