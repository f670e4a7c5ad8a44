/**
 * Test hook of the stage worker bundles: every onnxruntime-web session the worker creates is announced to the page
 * with a `{ sessionCreatedForTest: true }` message (comlink ignores messages without its id), so the page can count
 * the sessions of a load whose workers are gone afterwards (a load that fails terminates them).
 */
import { loadOrt } from '../../../src/runtime/ort.ts';

/**
 * Wraps `InferenceSession.create` of the wasm build. The bundle has no code splitting, so the import settles in
 * microtasks: the wrapper is in place before the worker's first message (a task) can ask for a session.
 */
export function announceSessions(): void {
  void loadOrt('wasm').then((ort) => {
    const create = ort.InferenceSession.create.bind(ort.InferenceSession);
    ort.InferenceSession.create = ((...args: Parameters<typeof create>) => {
      self.postMessage({ sessionCreatedForTest: true });
      return create(...args);
    }) as typeof create;
  });
}
