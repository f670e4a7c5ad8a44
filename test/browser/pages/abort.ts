/**
 * Abort-latency page: starts abort.worker.ts and, when the worker says graph G's k-th run has started, posts it a
 * `cancel` message (what `CosyVoice` does to its stage workers). Exposes `window.abortProbe`.
 */
import type { AbortProbeApi, AbortProbeRequest, AbortProbeResult } from './api.ts';

const worker = new Worker(new URL('./abort.worker.js', import.meta.url), { type: 'module', name: 'tts-test-abort' });

const api: AbortProbeApi = {
  run: (request: AbortProbeRequest) =>
    new Promise<AbortProbeResult>((resolve, reject) => {
      worker.onmessage = (
        event: MessageEvent<
          { type: 'busy' } | { type: 'result'; result: AbortProbeResult } | { type: 'failed'; message: string }
        >,
      ) => {
        const message = event.data;
        if (message.type === 'busy') worker.postMessage({ type: 'cancel' });
        else if (message.type === 'result') resolve(message.result);
        else reject(new Error(message.message));
      };
      worker.postMessage({ type: 'probe', request });
    }),
};
window.abortProbe = api;
window.testReady = true;
