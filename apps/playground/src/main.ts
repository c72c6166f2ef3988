import './style.css';
import { languageSection } from './sections/language.js';
import { mnistSection } from './sections/mnist.js';
import { WorkerClient } from './ui/client.js';
import { $, formatBytes } from './ui/dom.js';

const client = new WorkerClient();
const memory = $('memory');
client.onMemory = (m) => {
  const per = Object.entries(m.devices)
    .map(([d, s]) => `${d} ${s.tensors} / ${formatBytes(s.bytes)}`)
    .join(', ');
  memory.textContent = `Live tensors: ${m.tensors} (${formatBytes(m.bytes)})${per ? ` — ${per}` : ''}`;
  memory.dataset.tensors = String(m.tensors);
};

const info = await client.ready;
const badge = $('device-badge');
badge.textContent = info.webgpu ? `WebGPU: ${info.webgpu}` : `CPU, ${info.cpuThreads} thread${info.cpuThreads === 1 ? '' : 's'} (${info.cpuKernels})`;
badge.title = [
  info.webgpu ? `CPU path too: ${info.cpuThreads} threads (${info.cpuKernels})` : `no WebGPU: ${info.webgpuWhy}`,
  info.crossOriginIsolated ? 'cross-origin isolated: wasm threads on' : 'not cross-origin isolated: one CPU thread',
].join('; ');
badge.dataset.webgpu = String(!!info.webgpu);
badge.dataset.threads = String(info.cpuThreads);
mnistSection(client, info);
languageSection(client, info);
document.body.dataset.ready = 'true';
