/**
 * Default worker factories and the handle that watches a worker for crashes.
 *
 * The URLs are literals inside `new Worker(new URL(…, import.meta.url))` so bundlers (Vite, webpack, Next) can find
 * and emit them (house style §4); they point at the compiled `.js` files of `dist/esm`. Apps and the demo can pass
 * their own factories (e.g. Vite's `?worker` imports of the TypeScript sources).
 */
import { TTSError } from '../errors.ts';
import { Comlink, installRpc } from './rpc.ts';
import type { StageWorker } from '../stages/stage-worker.ts';

/** Worker roles. `acoustic` hosts flow + vocoder together. */
export type WorkerRole = 'lm' | 'flow' | 'vocoder' | 'acoustic' | 'voice';

/** One factory per worker role; each must return a new module worker. */
export type WorkerFactories = Readonly<Record<WorkerRole, () => Worker>>;

/** Factories for the published package layout (`dist/esm/src/core` → `dist/esm/workers`). */
export const defaultWorkers: WorkerFactories = {
  lm: () => new Worker(new URL('../../workers/lm.worker.js', import.meta.url), { type: 'module', name: 'tts-lm' }),
  flow: () =>
    new Worker(new URL('../../workers/flow.worker.js', import.meta.url), { type: 'module', name: 'tts-flow' }),
  vocoder: () =>
    new Worker(new URL('../../workers/vocoder.worker.js', import.meta.url), { type: 'module', name: 'tts-vocoder' }),
  acoustic: () =>
    new Worker(new URL('../../workers/acoustic.worker.js', import.meta.url), { type: 'module', name: 'tts-acoustic' }),
  voice: () =>
    new Worker(new URL('../../workers/voice.worker.js', import.meta.url), { type: 'module', name: 'tts-voice' }),
};

/** A started worker: its comlink proxy and a promise that rejects if it crashes or stops. */
export class WorkerHandle {
  readonly remote: Comlink.Remote<StageWorker>;
  /**
   * Rejects with ERR_WORKER_CRASHED when the worker reports an uncaught error, cannot deserialize a message or is
   * terminated by anyone else, and with ERR_DISPOSED when {@link WorkerHandle.terminate} stops it: either way every
   * pending and later call through {@link WorkerHandle.guard} settles (a stopped worker never answers).
   */
  readonly crashed: Promise<never>;
  #terminated = false;
  #stop: (error: TTSError) => void = () => undefined;

  constructor(
    readonly role: WorkerRole,
    private readonly worker: Worker,
  ) {
    installRpc();
    this.remote = Comlink.wrap<StageWorker>(worker);
    this.crashed = new Promise<never>((_, reject) => {
      this.#stop = reject;
    });
    const fail = (detail: string): void => {
      this.#stop(
        new TTSError('ERR_WORKER_CRASHED', `The ${role} worker crashed: ${detail}`, { details: { worker: role } }),
      );
    };
    worker.addEventListener('error', (event) => {
      // handled here: every pending and later call rejects with ERR_WORKER_CRASHED carrying the message, so the
      // browser need not also report it as an uncaught error of the page
      event.preventDefault();
      fail(event.message || 'uncaught error');
    });
    worker.addEventListener('messageerror', () => {
      fail('a message could not be deserialized');
    });
    // A worker terminated from outside (app code holding it from its factory, a test) fires no event at all: hear
    // of it here, or its pending calls would wait forever.
    const terminateWorker = worker.terminate.bind(worker);
    worker.terminate = () => {
      if (!this.#terminated) fail('it was terminated');
      terminateWorker();
    };
    this.crashed.catch(() => undefined); // observed by whoever races it; never an unhandled rejection
  }

  /** Whether {@link WorkerHandle.terminate} stopped it (its proxy is released: a call would throw). */
  get stopped(): boolean {
    return this.#terminated;
  }

  /** Races a call against the worker crashing or being stopped. */
  guard<T>(call: Promise<T>): Promise<T> {
    return Promise.race([call, this.crashed]);
  }

  /** Stops the worker (its WASM heap is only reclaimed this way, landscape §6); pending calls reject with ERR_DISPOSED. */
  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#stop(
      new TTSError('ERR_DISPOSED', `The ${this.role} worker was stopped (disposed, or its load was cancelled).`, {
        details: { worker: this.role },
      }),
    );
    this.remote[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}
