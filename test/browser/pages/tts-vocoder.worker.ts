/** Test bundle of the vocoder stage worker (esbuild entry; see build-pages.ts). */
import '../../../workers/vocoder.worker.ts';
import { installCacheFaultOfUrl } from './cache-fault.ts';
import { announceSessions } from './session-count.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';

// before any message can arrive, so before the worker's first cache write
installCacheFaultOfUrl(self.location.href);

// Test hook: a worker started with `?noWebGpu` (see hideWebGpuFromNextStart in tts.ts) sees no WebGPU, as on a machine
// whose GPU went away: its WebGPU stage fails the self-test and falls back to wasm.
if (new URL(self.location.href).searchParams.has('noWebGpu')) {
  Object.defineProperty(self.navigator, 'gpu', { value: undefined, configurable: true });
}

/**
 * Test hook: on `{ destroyDeviceForTest: true }` the worker destroys onnxruntime-web's WebGPU device, as a driver
 * reset or a GPU process crash would lose it.
 */
self.addEventListener('message', (event: MessageEvent<unknown>) => {
  const data = event.data as { destroyDeviceForTest?: unknown } | null;
  if (typeof data === 'object' && data !== null && data.destroyDeviceForTest === true) {
    void loadOrt('webgpu').then(async (ort) => {
      ((await Promise.resolve(ort.env.webgpu.device)) as { destroy: () => void }).destroy();
    });
  }
});
announceSessions();
