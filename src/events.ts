/**
 * Typed events: model-loading progress and runtime events (house style §9). One discriminated union each, and a
 * tiny emitter whose `on()` returns an unsubscribe function.
 */
import type { Device, Dtype, Stage } from './base/stages.ts';
import type { StorageFailureReason } from './base/storage-failure.ts';

/** Progress while a model package is fetched and its sessions created. */
export type LoadProgressEvent =
  | {
      readonly type: 'load-start';
      readonly totalBytes: number;
      readonly files: ReadonlyArray<{ readonly stage: Stage; readonly file: string; readonly bytes: number }>;
    }
  | {
      readonly type: 'file-progress';
      readonly stage: Stage;
      readonly file: string;
      readonly loaded: number;
      readonly total: number;
      readonly fromCache: boolean;
    }
  | { readonly type: 'file-done'; readonly stage: Stage; readonly file: string; readonly fromCache: boolean }
  | { readonly type: 'load-progress'; readonly loaded: number; readonly total: number; readonly fraction: number }
  | {
      readonly type: 'session-ready';
      readonly stage: Stage;
      readonly device: Device;
      readonly dtype: Dtype;
      readonly ms: number;
    }
  | { readonly type: 'ready'; readonly devices: Readonly<Partial<Record<Stage, Device>>> }
  /**
   * A warning, at most once per load: the model cache could not keep the files, so the load goes on from memory and
   * the model will be downloaded again next time. `reason`: `'quota'` (storage full, or a private window's small
   * quota), `'unavailable'` (no usable Cache API here), `'error'` (the cache failed, e.g. Chromium's "Unexpected
   * internal error" in a private window). `message` has the browser's own words.
   */
  | { readonly type: 'storage'; readonly reason: StorageFailureReason; readonly message: string };

/** Events while synthesising and playing. */
export type RuntimeEvent =
  | { readonly type: 'first-audio'; readonly requestId: string; readonly ttfaMs: number }
  | {
      readonly type: 'chunk';
      readonly requestId: string;
      readonly index: number;
      /** Samples in the chunk. */
      readonly samples: number;
      /** Where the chunk starts in the request's audio, in seconds (e.g. to time captions). */
      readonly startTime: number;
      /** Text of the chunk's segment as spoken (after normalisation); '' for a text stream. */
      readonly text: string;
      /** Wall time so far per second of audio so far. */
      readonly rtf: number;
    }
  | { readonly type: 'underrun'; readonly count: number }
  /**
   * A worker crashed (the request it served rejected with ERR_WORKER_CRASHED) and a new one hosting `stages` is
   * ready: requests made meanwhile waited for it. `devices`: where each of those stages now runs (wasm when the new
   * WebGPU device failed its self-test; `CosyVoice.placement` says the same). `attempts`: starts it took; `ms`: from
   * the crash to ready.
   */
  | {
      readonly type: 'recovered';
      readonly stages: readonly Stage[];
      readonly devices: Readonly<Partial<Record<Stage, Device>>>;
      readonly attempts: number;
      readonly ms: number;
    }
  | {
      readonly type: 'done';
      readonly requestId: string;
      /** Seconds of audio the request made. */
      readonly audioSeconds: number;
      readonly rtf: number;
      readonly ttfaMs: number;
      readonly tokensPerSecond: number;
    };

/** Event listener for one event type of a union. */
export type Listener<E extends { type: string }, T extends E['type']> = (event: Extract<E, { type: T }>) => void;

/** A minimal typed event emitter. Listener exceptions are isolated from each other and from the emitter. */
export class TypedEmitter<E extends { type: string }> {
  private readonly listeners = new Map<string, Set<(event: E) => void>>();

  /** Subscribes; returns the unsubscribe function. */
  on<T extends E['type']>(type: T, listener: Listener<E, T>): () => void {
    let set = this.listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const fn = listener as (event: E) => void;
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Delivers an event to every listener of its type. */
  emit(event: E): void {
    for (const fn of this.listeners.get(event.type) ?? []) {
      try {
        fn(event);
      } catch (error) {
        // A faulty listener must not break synthesis; surface it asynchronously like an unhandled error.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners.clear();
  }
}
