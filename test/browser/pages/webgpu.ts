/**
 * WebGPU smoke page: requests an adapter (SwiftShader's fallback adapter under `--enable-unsafe-webgpu` on machines
 * without a GPU) and runs a tiny compute shader, in the window and in a dedicated worker. Exposes `window.webgpu`.
 */
import type { GpuProbe, WebGpuApi } from './api.ts';
import { probeGpu } from './webgpu-probe.ts';

function probeInWorker(): Promise<GpuProbe> {
  const worker = new Worker(new URL('./webgpu.worker.js', import.meta.url), { type: 'module', name: 'tts-test-gpu' });
  return new Promise<GpuProbe>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<GpuProbe>) => {
      resolve(event.data);
      worker.terminate();
    };
    worker.onerror = (event) => {
      reject(new Error(event.message));
    };
  });
}

const api: WebGpuApi = { probe: probeGpu, probeInWorker };
window.webgpu = api;
window.testReady = true;
