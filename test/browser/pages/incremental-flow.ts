/**
 * Incremental-flow exactness page (issue #11): runs incremental-flow.worker.ts, one worker per comparison, and
 * exposes `window.incrementalFlow`. Every result is plain JSON.
 */

/** One comparison: the voice's flow prompt and the utterance's tokens, on a device. */
export interface IncrementalFlowRequest {
  readonly device: 'wasm' | 'webgpu';
  readonly promptTokens: readonly number[];
  readonly promptFeat: readonly number[];
  readonly embedding: readonly number[];
  readonly tokens: readonly number[];
  /** Euler steps per chunk (the package's when absent): fewer keep a slow device's run short; exactness holds for any. */
  readonly steps?: number;
  /** Whether the utterance ends after `tokens` (with its final chunk) or stays open (non-final chunks only). */
  readonly end: boolean;
}

/** Per chunk of the incremental stream, against the same chunk of the re-solving one. */
export interface IncrementalFlowChunk {
  readonly final: boolean;
  /** Whether the incremental stream solved it incrementally. */
  readonly incremental: boolean;
  /** Whether the re-solving stream did (it must not). */
  readonly baselineIncremental: boolean;
  readonly maxAbsDiff: number;
  readonly solvedFrames: number;
  readonly baselineSolvedFrames: number;
}

export interface IncrementalFlowResult {
  readonly chunks: readonly IncrementalFlowChunk[];
  readonly baselineChunks: number;
}

/** `window.incrementalFlow` of the `incremental-flow` page. */
export interface IncrementalFlowApi {
  compare(request: IncrementalFlowRequest): Promise<IncrementalFlowResult>;
}

declare global {
  interface Window {
    incrementalFlow: IncrementalFlowApi;
  }
}

const api: IncrementalFlowApi = {
  compare: (request) =>
    new Promise<IncrementalFlowResult>((resolve, reject) => {
      const worker = new Worker(new URL('./incremental-flow.worker.js', import.meta.url), {
        type: 'module',
        name: 'tts-test-incremental-flow',
      });
      worker.onmessage = (
        event: MessageEvent<{ ok: true; result: IncrementalFlowResult } | { ok: false; message: string }>,
      ) => {
        worker.terminate();
        if (event.data.ok) resolve(event.data.result);
        else reject(new Error(event.data.message));
      };
      worker.onerror = (event) => {
        worker.terminate();
        reject(new Error(event.message));
      };
      worker.postMessage(request);
    }),
};
window.incrementalFlow = api;
window.testReady = true;
