/** The element with `id`, typed; a missing one is a bug in index.html. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el as T;
}

/** Bytes as B / KiB / MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** Shows an error of a section in its status line (and the console) instead of losing it. */
export function reportError(status: HTMLElement, e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  status.textContent = `Error: ${msg.split('\n')[0]}`;
  status.classList.add('error');
  console.error(e);
}

/** Fills a device <select> with WebGPU (when registered) and the CPU. */
export function deviceOptions(select: HTMLSelectElement, webgpu: string | null): void {
  select.innerHTML = '';
  if (webgpu) select.add(new Option('WebGPU', 'webgpu', true, true));
  select.add(new Option('CPU (WebAssembly)', 'cpu', !webgpu, !webgpu));
}
