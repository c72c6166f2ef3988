import './style.css';
import { checkpointsSection } from './sections/checkpoints.js';
import { generativeSection } from './sections/generative.js';
import { languageSection } from './sections/language.js';
import { mnistSection } from './sections/mnist.js';
import { rlSection } from './sections/rl.js';
import type { MemoryReport } from './protocol.js';
import { WorkerClient } from './ui/client.js';
import { $, formatBytes } from './ui/dom.js';

// ?threads=N sets the wasm kernels' threads (default: one per core)
const threadsParam = Number(new URLSearchParams(location.search).get('threads')) || undefined;
const client = new WorkerClient('models', { threads: threadsParam });
// PPO's loop is synchronous: it gets a Worker of its own so the other sections keep answering;
// its 64-wide MLPs gain nothing from more threads
const rlClient = new WorkerClient('rl', { webgpu: false, threads: 1 });

// the memory readout: live tensors and bytes over both Workers, per device
const memory = $('memory');
const reports = new Map<string, MemoryReport>();
const showMemory = (): void => {
  let [tensors, bytes] = [0, 0];
  const devices = new Map<string, [number, number]>();
  for (const m of reports.values()) {
    tensors += m.tensors;
    bytes += m.bytes;
    for (const [d, s] of Object.entries(m.devices)) {
      const [t, b] = devices.get(d) ?? [0, 0];
      devices.set(d, [t + s.tensors, b + s.bytes]);
    }
  }
  const per = [...devices].map(([d, [t, b]]) => `${d} ${t} / ${formatBytes(b)}`).join(', ');
  memory.textContent = `Live tensors: ${tensors} (${formatBytes(bytes)})${per ? ` — ${per}` : ''}`;
  memory.dataset.tensors = String(tensors);
};
for (const c of [client, rlClient]) {
  c.onMemory = (m) => {
    reports.set(c.name, m);
    showMemory();
  };
}

const info = await client.ready;
const badge = $('device-badge');
badge.textContent = info.webgpu ? `WebGPU: ${info.webgpu}` : `CPU, ${info.cpuThreads} thread${info.cpuThreads === 1 ? '' : 's'} (${info.cpuKernels})`;
badge.title = [
  info.webgpu ? `CPU path too: ${info.cpuThreads} threads (${info.cpuKernels})` : `no WebGPU: ${info.webgpuWhy}`,
  info.crossOriginIsolated ? 'cross-origin isolated: wasm threads on' : 'not cross-origin isolated: one CPU thread',
].join('; ');
badge.dataset.webgpu = String(!!info.webgpu);
badge.dataset.threads = String(info.cpuThreads);
const mnist = mnistSection(client, info);
const generative = generativeSection(client, info);
const language = languageSection(client, info);
checkpointsSection(client, info, async (kind, description) => {
  if (kind === 'mnist') await mnist.loaded(description);
  else if (kind === 'gpt' || kind === 'mamba' || kind === 'bert') language.loaded(kind, description);
  else await generative.reload(kind, description);
});
rlSection(rlClient);
await rlClient.ready;
document.body.dataset.ready = 'true';
