/** Test bundle of the flow stage worker (esbuild entry; see build-pages.ts). */
import '../../../workers/flow.worker.ts';
import { installCacheFaultOfUrl } from './cache-fault.ts';
import { announceSessions } from './session-count.ts';

// before any message can arrive, so before the worker's first cache write
installCacheFaultOfUrl(self.location.href);
announceSessions();

/**
 * Test hook: on `{ crashForTest: true }` the worker throws an uncaught exception, a genuine one the browser reports
 * as an `error` event on the Worker object (what a bug or an onnxruntime abort inside the worker does). comlink
 * answers the unknown message with an id-less reply that the main thread ignores.
 */
self.addEventListener('message', (event: MessageEvent<unknown>) => {
  const data = event.data as { crashForTest?: unknown } | null;
  if (typeof data === 'object' && data !== null && data.crashForTest === true) {
    setTimeout(() => {
      throw new Error('flow worker crashed on purpose (test hook)');
    });
  }
});

// Test hook: a worker started with `?crashOnStart` (see crashNextStarts in tts.ts) crashes before it can initialise,
// as a worker that fails on every start would.
if (new URL(self.location.href).searchParams.has('crashOnStart')) {
  setTimeout(() => {
    throw new Error('flow worker crashed while starting (test hook)');
  });
}
