/**
 * Hugging Face's pretrained-model folder (`config.json` + `model.safetensors`, as `save_pretrained`
 * writes it), shared by the models that read and write one (GPT-2 here, BERT in @dl/bert): reading
 * and writing the two files, typed reads of config fields, and the `hidden_act` /
 * `activation_function` names.
 */
import { DLError, type Tensor } from '@dl/tensor';
import { parseSafetensors, serializeSafetensors, writeFileAtomic } from '@dl/layers';
import type { MLPActivation } from './mlp.js';

/**
 * A config.json that this model cannot follow, or that disagrees with the weights; `keys` names
 * the config keys and tensors involved.
 */
export class ConfigError extends DLError {
  constructor(
    op: string,
    message: string,
    readonly keys: string[],
  ) {
    super(op, message);
  }
}

/**
 * A number field of a parsed config.json: `fallback` when the key is absent or null (no fallback:
 * a ConfigError naming the key and the file `where`), a ConfigError when it is not a number.
 *
 *   configNumber('BertModel.fromPretrained', 'config.json', json, 'layer_norm_eps', 1e-12); // 1e-12 when absent
 */
export function configNumber(op: string, where: string, json: Record<string, unknown>, key: string, fallback?: number): number;
export function configNumber(op: string, where: string, json: Record<string, unknown>, key: string, fallback: null): number | null;
export function configNumber(op: string, where: string, json: Record<string, unknown>, key: string, fallback?: number | null): number | null {
  const v = json[key];
  if (v === undefined || v === null) {
    if (fallback === undefined) throw new ConfigError(op, `${where} has no '${key}'`, [key]);
    return fallback;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(op, `${where}: '${key}' must be a number, got ${JSON.stringify(v)}`, [key]);
  return v;
}

const ACT_FROM_HF: Record<string, MLPActivation> = { gelu_new: 'geluTanh', gelu_pytorch_tanh: 'geluTanh', gelu: 'gelu', relu: 'relu', silu: 'silu', swish: 'silu' };
const ACT_TO_HF: Record<string, string> = { geluTanh: 'gelu_new', gelu: 'gelu', relu: 'relu', silu: 'silu' };

/**
 * The MLPActivation of a transformers activation name (ACT2FN's keys: `gelu` is the exact erf GELU,
 * `gelu_new` / `gelu_pytorch_tanh` the tanh approximation); a ConfigError naming `key` otherwise.
 *
 *   activationFromHF('BertModel.fromPretrained', 'config.json', 'hidden_act', 'gelu'); // 'gelu'
 */
export function activationFromHF(op: string, where: string, key: string, name: unknown): MLPActivation {
  if (typeof name !== 'string' || !Object.hasOwn(ACT_FROM_HF, name)) {
    throw new ConfigError(op, `${where}: ${key} ${JSON.stringify(name)} is not one of ${Object.keys(ACT_FROM_HF).join(', ')}`, [key]);
  }
  return ACT_FROM_HF[name];
}

/**
 * The transformers name of an MLPActivation (a function has none: a ConfigError naming `key`).
 *
 *   activationToHF('BertModel.savePretrained', 'hidden_act', 'geluTanh'); // 'gelu_new'
 */
export function activationToHF(op: string, key: string, a: MLPActivation): string {
  if (typeof a === 'function') throw new ConfigError(op, `the activation is a function, which config.json cannot name (${key}); use a named activation`, [key]);
  return ACT_TO_HF[a];
}

/**
 * config.json (parsed; a ConfigError unless it holds a JSON object) and model.safetensors (parsed)
 * of a folder (Node). Errors name `op` and the path.
 *
 *   const { json, tensors, configPath } = await readPretrainedFolder('models/bert', 'BertModel.fromPretrained');
 */
export async function readPretrainedFolder(dir: string, op: string): Promise<{ json: Record<string, unknown>; tensors: Record<string, Tensor>; configPath: string }> {
  const fs = await import('node:fs/promises');
  const configPath = `${dir}/config.json`;
  const weightsPath = `${dir}/model.safetensors`;
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await fs.readFile(path);
    } catch (e) {
      const code = (e as { code?: string }).code;
      const hint = what === 'weights' && code === 'ENOENT' ? ' (only model.safetensors is read; convert a pytorch_model.bin with safetensors first)' : '';
      throw new DLError(op, `cannot read ${path}: ${code ?? String(e)}${hint}`);
    }
  };
  let json: unknown;
  try {
    json = JSON.parse((await read(configPath, 'config')).toString('utf8'));
  } catch (e) {
    if (e instanceof DLError) throw e;
    throw new ConfigError(op, `${configPath} is not valid JSON: ${(e as Error).message}`, []);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(op, `${configPath} must hold a JSON object`, []);
  const { tensors } = parseSafetensors(new Uint8Array(await read(weightsPath, 'weights')));
  return { json: json as Record<string, unknown>, tensors, configPath };
}

/**
 * Writes config.json (`json`, indented) and model.safetensors (`tensors`, PyTorch's metadata), each
 * atomically, creating the folder (Node).
 *
 *   await writePretrainedFolder('runs/bert', bertConfigToJson(config), model.stateDict());
 */
export async function writePretrainedFolder(dir: string, json: Record<string, unknown>, tensors: Record<string, Tensor>): Promise<void> {
  const fs = await import('node:fs/promises');
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(`${dir}/model.safetensors`, await serializeSafetensors(tensors, { format: 'pt' }));
  await writeFileAtomic(`${dir}/config.json`, new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
}
