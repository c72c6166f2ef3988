import { DeviceError } from '@dl/tensor';
import { makeBackend, type AdapterSummary, type WebGPUBackend } from './backend.js';

export interface WebGPUBackendOptions {
  /** use this device instead of requesting one (an app can share its device) */
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
  /** features to require besides the ones @dl/gpu asks for when available ('shader-f16') */
  requiredFeatures?: GPUFeatureName[];
  /** limits to require; by default the adapter's maxima of the buffer and workgroup limits are used */
  requiredLimits?: Record<string, number>;
  /** use float16 storage when the adapter has 'shader-f16' (default true) */
  float16?: boolean;
  /** device name for `x.to(name)` (default 'webgpu') */
  name?: string;
  /** Node.js only: options passed to Dawn's `create()`, e.g. ['backend=vulkan'] */
  dawnOptions?: string[];
  /** caps the storage binding size used when splitting big elementwise ops (default: the device limit) */
  maxBindingBytes?: number;
  /** dispatches recorded before an automatic submit (default 1024) */
  maxDispatchesPerSubmit?: number;
  /** bytes of freed buffers kept for reuse (default 512 MiB) */
  maxPooledBytes?: number;
  /** use subgroup operations in reductions when the adapter has 'subgroups' (default true) */
  subgroups?: boolean;
  /**
   * record each chain of elementwise ops over the same number of elements as one dispatch
   * (default true; false records one dispatch an op, as a reference to compare against)
   */
  fuseElementwise?: boolean;
}

// Dawn's GPU object must stay referenced while its devices live
let nodeGpu: GPU | null = null;

interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

/** navigator.gpu in a browser; in Node.js, Dawn from $DL_WEBGPU_MODULE or the `webgpu` package. */
export async function getGPU(dawnOptions: string[] = []): Promise<GPU | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const proc = (globalThis as { process?: { versions?: { node?: string }; env?: Record<string, string | undefined> } }).process;
  if (!proc?.versions?.node) return null;
  if (nodeGpu) return nodeGpu;
  const spec = proc.env?.DL_WEBGPU_MODULE || 'webgpu';
  const url = spec.startsWith('/') ? `file://${spec}` : spec;
  let mod: DawnModule;
  try {
    mod = (await import(/* @vite-ignore */ url)) as DawnModule;
  } catch (e) {
    throw new DeviceError('createWebGPUBackend', `could not load Dawn from '${spec}' (${(e as Error).message}); install the 'webgpu' package or set DL_WEBGPU_MODULE`);
  }
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  nodeGpu = mod.create(dawnOptions);
  return nodeGpu;
}

const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

function summary(info: GPUAdapterInfo | undefined): AdapterSummary {
  const [vendor, architecture, description] = [info?.vendor ?? '', info?.architecture ?? '', info?.description ?? ''];
  return { vendor, architecture, description, software: architecture === 'software' || /swiftshader|llvmpipe/i.test(description) };
}

/**
 * Creates the WebGPU backend. Register it, then move tensors with `x.to('webgpu')`:
 *
 *   import { registerBackend, randn } from '@dl/tensor';
 *   import { createWebGPUBackend } from '@dl/gpu';
 *   registerBackend(await createWebGPUBackend());
 *   const y = randn([256, 256], { device: 'webgpu' }).matmul(...);
 *   console.log(await y.data());
 *
 * Throws a DeviceError when no adapter is available. After device loss, ops throw DeviceError;
 * call this again and register the new backend.
 */
export async function createWebGPUBackend(options: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  const name = options.name ?? 'webgpu';
  const ctxOpts = { maxBindingBytes: options.maxBindingBytes, maxDispatchesPerSubmit: options.maxDispatchesPerSubmit, maxPooledBytes: options.maxPooledBytes, fuseElementwise: options.fuseElementwise };
  // subgroup reductions need the device feature and WGSL's subgroup_id builtin (which subgroup an invocation is in)
  const subgroupsOn = (device: GPUDevice, gpu: GPU | null): boolean =>
    options.subgroups !== false && device.features.has('subgroups') && !!gpu?.wgslLanguageFeatures?.has('subgroup_id');
  if (options.device) {
    const info = (options.device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu ?? nodeGpu;
    return makeBackend(options.device, summary(info), name, { ...ctxOpts, subgroups: subgroupsOn(options.device, gpu) });
  }
  const gpu = await getGPU(options.dawnOptions);
  if (!gpu) throw new DeviceError('createWebGPUBackend', 'WebGPU is not available here (no navigator.gpu, and not Node.js)');
  const adapter = await gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
  if (!adapter) {
    throw new DeviceError('createWebGPUBackend', 'no WebGPU adapter found; on a machine without a GPU install a software Vulkan driver (see scripts/install-webgpu.sh)');
  }
  const features = new Set<GPUFeatureName>(options.requiredFeatures ?? []);
  if (options.float16 !== false && adapter.features.has('shader-f16')) features.add('shader-f16');
  if (options.subgroups !== false && adapter.features.has('subgroups')) features.add('subgroups');
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) requiredLimits[k] = adapter.limits[k];
  Object.assign(requiredLimits, options.requiredLimits);
  const device = await adapter.requestDevice({ requiredFeatures: [...features], requiredLimits });
  return makeBackend(device, summary(adapter.info), name, { ...ctxOpts, subgroups: subgroupsOn(device, gpu) });
}
