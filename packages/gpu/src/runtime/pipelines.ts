/**
 * Compute pipelines cached by shader source. `get` compiles synchronously (kernels are called
 * synchronously); `getAsync` lets callers warm the cache without blocking, and concurrent requests
 * for one source share a single compile.
 */
export class PipelineCache {
  private readonly ready = new Map<string, GPUComputePipeline>();
  private readonly compiling = new Map<string, Promise<GPUComputePipeline>>();
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
