/**
 * Compute pipelines cached by shader source. `get` compiles synchronously (kernels are called
 * synchronously); `getAsync` lets callers warm the cache without blocking, and concurrent requests
 * for one source share a single compile.
 */
export class PipelineCache {
  private readonly ready = new Map<string, GPUComputePipeline>();
  private readonly compiling = new Map<string, Promise<GPUComputePipeline>>();
  /** modules of custom programs, whose passes may share one module */
  private readonly modules = new Map<string, GPUShaderModule>();
  compiles = 0;

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.ready.size;
  }

  get(source: string): GPUComputePipeline {
    let p = this.ready.get(source);
    if (!p) {
      this.compiles++;
      const module = this.device.createShaderModule({ code: source });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.ready.set(source, p);
    }
    return p;
  }

  /**
   * The pipeline of one entry point of `source` with a layout of the caller's (custom WGSL
   * programs), cached by source, entry point and `layoutKey`; `label` (the op) names the shader in
   * WebGPU's error messages.
   */
  getExplicit(source: string, entryPoint: string, layout: GPUPipelineLayout, layoutKey: string, label: string): GPUComputePipeline {
    const id = `${layoutKey}|${entryPoint}\n${source}`;
    let p = this.ready.get(id);
    if (!p) {
      this.compiles++;
      let module = this.modules.get(source);
      if (!module) this.modules.set(source, (module = this.device.createShaderModule({ code: source, label })));
      p = this.device.createComputePipeline({ layout, compute: { module, entryPoint }, label: `${label} (${entryPoint})` });
      this.ready.set(id, p);
    }
    return p;
  }

  getAsync(source: string): Promise<GPUComputePipeline> {
    const p = this.ready.get(source);
    if (p) return Promise.resolve(p);
    let pending = this.compiling.get(source);
    if (!pending) {
      this.compiles++;
      const module = this.device.createShaderModule({ code: source });
      pending = this.device
        .createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } })
        .then((pipeline) => {
          this.ready.set(source, pipeline);
          return pipeline;
        })
        .finally(() => this.compiling.delete(source));
      this.compiling.set(source, pending);
    }
    return pending;
  }
}
