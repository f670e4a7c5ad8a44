/**
 * Types of what the test pages expose on `window` (used by the pages and, type-only, by the Playwright tests).
 * Every result is plain JSON so it crosses `page.evaluate` unchanged.
 */
import type { PlaybackStatus } from '../../../src/audio/playback-protocol.ts';
import type { GoldenRequest } from '../../helpers/request-goldens.ts';

/** One step of an offline render, executed while rendering is suspended at output frame `at` (a multiple of 128). */
export type OfflineAction =
  | { readonly at: number; readonly do: 'write'; readonly start: number; readonly length: number }
  | { readonly at: number; readonly do: 'end' }
  | { readonly at: number; readonly do: 'pause' }
  | { readonly at: number; readonly do: 'resume' }
  | { readonly at: number; readonly do: 'stop' }
  /** Writes through the producer opened before the last stop (it must refuse), then, with the ring, pushes raw. */
  | { readonly at: number; readonly do: 'stale-write'; readonly start: number; readonly length: number };

/** An `OfflineAudioContext` render of the real `AudioPlayer` (sequence data `seq(start + i)`). */
export interface OfflineScenario {
  readonly transport: 'sab' | 'port';
  readonly contextRate: number;
  readonly frames: number;
  readonly prerollMs: number;
  readonly fadeMs: number;
  readonly bufferSeconds: number;
  readonly actions: readonly OfflineAction[];
}

/** What an offline render produced. */
export interface OfflineResult {
  readonly output: number[];
  readonly status: PlaybackStatus;
  readonly prerollFrames: number;
  readonly fadeFrames: number;
  readonly capacity: number;
  /** Frames accepted by each `write` action (tryWrite counts), in order. */
  readonly written: number[];
  /** Per `stale-write`: [tryWrite count, write() result]. */
  readonly stale: [number, boolean][];
  readonly endTokens: number[];
  /** Counts passed to `onUnderrun`. */
  readonly underrunEvents: number[];
  /** Whether `drained(lastToken)` resolved. */
  readonly drained: boolean;
}

/** Result of a live (real-time `AudioContext`) streaming run. */
export interface LiveStreamResult {
  readonly transport: 'sab' | 'port';
  readonly crossOriginIsolated: boolean;
  readonly contextRate: number;
  readonly totalFrames: number;
  /** `framesPlayed` observed right before the second chunk was written (> 0: playback began with chunk 1). */
  readonly playedBeforeSecondWrite: number;
  /** State observed at that moment. */
  readonly stateBeforeSecondWrite: string;
  readonly status: PlaybackStatus;
  /** Non-silent samples that reached the destination, compared with what was written. */
  readonly recorded: { readonly count: number; readonly firstMismatch: number };
  readonly underrunEvents: number[];
  readonly producer?: { readonly waits: number; readonly written: number; readonly transport: string };
}

/** Result of the live pause/resume/stop run. */
export interface LiveControlResult {
  readonly transport: 'sab' | 'port';
  readonly pausedState: string;
  readonly playedAtPause: number;
  readonly playedAfterPauseWait: number;
  readonly quantaDuringPause: number;
  readonly playedAfterResume: number;
  readonly afterStop: PlaybackStatus;
  readonly staleWriteAccepted: boolean;
  readonly drainedAfterStop: boolean;
  readonly afterRestart: PlaybackStatus;
  readonly restartFrames: number;
  /** Rate of the context the player created itself. */
  readonly contextRate: number;
  /** `context.state` after `dispose()` (the player closes a context it created). */
  readonly contextStateAfterDispose: string;
}

/** A `recovered` event of the instance (a crashed worker restarted), as plain data. */
export interface RecoveredSeen {
  readonly stages: string[];
  /** Where each restarted stage runs now. */
  readonly devices: Record<string, string>;
  readonly attempts: number;
}

/** What a request and the next one got when a worker died under the first (crashed, terminated, device lost). */
export interface WorkerLoss {
  /** The first chunk came while the text stream was still held open (the request was provably running). */
  readonly firstWhileHeld: boolean;
  /** 'resolved', or the code the running request rejected with; `message` its message. */
  readonly pending: string;
  readonly message: string;
  /** 'resolved', or the code of the request made right after the loss (it waits for the restart). */
  readonly later: string;
  readonly laterMessage: string;
  /** The `recovered` events seen meanwhile. */
  readonly recovered: RecoveredSeen[];
}

/** Result of the processor-failure run. */
export interface CrashResult {
  readonly onErrorCode: string | null;
  readonly drainedRejection: string | null;
  readonly writeRejection: string | null;
}

/** Result of the WebGPU probe. */
export interface GpuProbe {
  readonly hasGpu: boolean;
  readonly adapter: boolean;
  readonly isFallbackAdapter: boolean | null;
  readonly vendor: string;
  readonly architecture: string;
  /** `data[i] * 2 + 1` computed by a compute shader for data = [0, 1, …, 255]. */
  readonly computed: number[];
}

/** `window.playback` (pages/playback.ts). */
export interface PlaybackApi {
  offline(scenario: OfflineScenario): Promise<OfflineResult>;
  liveStream(options: { chunkSeconds: number[]; contextRate?: number; workletUrl?: string }): Promise<LiveStreamResult>;
  liveControl(): Promise<LiveControlResult>;
  workerRing(options: { seconds: number; bufferSeconds: number; seed: number }): Promise<LiveStreamResult>;
  crash(): Promise<CrashResult>;
  createIsSynchronous(): Promise<{ constructedBeforeAwait: number; same: boolean; rate: number }>;
  loadFailures(): Promise<{ missing: string; wrongName: string }>;
}

/** `window.webgpu` (pages/webgpu.ts). */
export interface WebGpuApi {
  probe(): Promise<GpuProbe>;
  probeInWorker(): Promise<GpuProbe>;
}

// Declared as always present: the tests only call them on the page that sets them (after `testReady`).
declare global {
  interface Window {
    testReady: boolean;
    playback: PlaybackApi;
    webgpu: WebGpuApi;
    tts: TtsPageApi;
    abortProbe: AbortProbeApi;
    variants: VariantsApi;
  }
}

/** One cancel-by-message probe of the `abort` page: cancel when `graph`'s `run`-th run of the request starts. */
export interface AbortProbeRequest {
  readonly graph: 'llm' | 'flow_step' | 'hift_decoder';
  readonly run: number;
  readonly api: 'synthesize' | 'stream';
  readonly text: string;
  /** Text synthesised after the cancelled request, on the same engine. */
  readonly check: string;
  /** Voice file bytes. */
  readonly voice: readonly number[];
}

/** What the probe saw. */
export interface AbortProbeResult {
  /** `'AbortError'`, or `'resolved'` when the cancel did not land before the request finished. */
  readonly outcome: string;
  /** Graph runs of the request. */
  readonly runs: number;
  /** Graph runs started after the worker received the cancel (-1: never received during the request). */
  readonly lateRuns: number;
  readonly afterSamples: number;
  readonly afterFinite: boolean;
}

/** `window.abortProbe` of the `abort` page. */
export interface AbortProbeApi {
  run(request: AbortProbeRequest): Promise<AbortProbeResult>;
}

/** An operation's value, or the code (`TTSError.code`, else the error's name) and message it failed with. */
export type Attempt<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: string; readonly message: string };

/** `window.tts` of the `tts` page (public API end to end). */
export interface TtsPageApi {
  create(options: {
    readonly model?: string;
    readonly device?: string | Record<string, string>;
    readonly dtype?: string;
    readonly topology?: 'split' | 'merged';
    readonly cache?: 'cache-api' | 'none';
    /** Make `Cache.put` reject in the page and in every worker of this load (see pages/cache-fault.ts). */
    readonly cacheFault?: 'internal' | 'quota';
    /** Abort the load before it starts, at its first downloaded bytes, or once every byte is in (sessions). */
    readonly abortOn?: 'start' | 'download' | 'sessions';
  }): Promise<
    | {
        readonly ok: true;
        readonly placement: Record<string, { device: string; dtype: string }>;
        readonly events: Array<Record<string, unknown>>;
        readonly ms: number;
      }
    | { readonly ok: false; readonly code: string; readonly message: string; readonly events: [] }
  >;
  loadVoice(bytes: number[]): { readonly promptTokens: number };
  clone(
    url: string,
    transcript?: string,
  ): Promise<{ promptTokens: number[]; promptTextIds: number[]; embedding: number[] }>;
  synthesize(text: string, seed: number): Promise<{ samples: number[]; seed: number; wavBytes: number; rtf: number }>;
  /** Streams; text pieces (an array) make a text stream, as `speakCaptured`'s held text does once released. */
  stream(
    text: string | readonly string[],
    seed: number,
  ): Promise<{
    chunks: number[][];
    meta: Array<{ text: string; startTime: number; final: boolean }>;
    events: Array<{ text: string; startTime: number }>;
  }>;
  /** Speaks; with `interrupt`, aborts the request or stops the player once that many chunks have arrived. */
  speak(
    text: string,
    seed: number,
    interrupt?: { readonly afterChunks: number; readonly by: 'abort' | 'stop' },
  ): Promise<{
    error: string | undefined;
    firstAudioMs: number;
    chunkLog: Array<{ index: number; framesPlayed: number }>;
    framesPlayed: number;
    framesPlayedLater: number;
    underruns: number;
    state: string;
    transport: string;
  }>;
  /**
   * Starts `speak` and then blocks this thread until the worklet has played audio (or `deadlineMs` passed): only a
   * worker writing into the ring itself can make that happen. Reports the frames played while blocked.
   */
  speakWhileBlocked(
    text: string,
    seed: number,
    deadlineMs: number,
  ): Promise<{ playedWhileBlocked: number; blockedMs: number; framesPlayed: number; error: string | undefined }>;
  /**
   * Speaks while recording what the player's worklet node outputs (from before the request until `tailQuanta` render
   * quanta after it ended). With `held`, the text is a stream that stops after `opening` until the player reports an
   * underrun, then goes on with `rest`: a gap in playback forced without any timing.
   */
  speakCaptured(
    text: string | { readonly opening: readonly string[]; readonly rest: readonly string[] },
    seed: number,
    tailQuanta: number,
  ): Promise<{
    error: string | undefined;
    recorded: number[];
    transport: string;
    contextRate: number;
    fadeFrames: number;
    framesPlayed: number;
    underruns: number;
    /** Underruns reported before the held text was released (0 without `held`). */
    underrunsBeforeRelease: number;
  }>;
  memory(): Promise<number>;
  isolated(): boolean;
  /** Starts a stream, fires a worker `error` event after its first chunk, reports what the pending and a later call got. */
  crashDuringStream(text: string, seed: number): Promise<WorkerLoss & { workerError: string }>;
  /** The next `count` workers of `role` crash while they initialise (the test bundles read `?crashOnStart`). */
  crashNextStarts(role: 'lm' | 'flow' | 'vocoder', count: number): void;
  /** The next worker of `role` sees no WebGPU (`?noWebGpu`): a WebGPU stage it hosts fails its self-test. */
  hideWebGpuFromNextStart(role: 'vocoder'): void;
  /** Where each stage of the instance runs now (`CosyVoice.placement`). */
  placement(): Record<string, string>;
  /**
   * Runs a request of the request goldens (test/helpers/request-goldens.ts): a text stream is held open after its
   * opening until the first chunk arrives. Returns the chunk sizes, every `stride`-th sample of the joined audio,
   * the tokens per segment (synthesize) and the token count.
   */
  goldenRequest(
    request: GoldenRequest,
    seed: number,
    stride: number,
  ): Promise<{ chunkSamples: number[]; wave: number[]; segmentTokens: number[][]; tokens: number; heldFirst: boolean }>;
  /**
   * Clones a voice from the recording at `url`; the prompt tokens, or the failure. `misuse` makes the call wrong on
   * purpose: `null` options, a typo in an option key, a signal aborted before the call, or aborted on the next task.
   */
  tryClone(
    url: string,
    transcript: string,
    misuse?: 'null-options' | 'typo' | 'aborted' | 'abort-during',
  ): Promise<Attempt<number[]>>;
  /** Synthesises; aborts before the call, on the next task after it (the LM is at work), or at the first audio. */
  trySynthesize(text: string, seed: number, abortOn?: 'before' | 'started' | 'first-audio'): Promise<Attempt<number[]>>;
  /**
   * Starts a stream, terminates the `role` worker (or loses its WebGPU device) after its first chunk, reports what the
   * pending call and a later `synthesize(laterText)` (default: `text`) got, with the later call's samples.
   */
  killWorkerDuringStream(
    role: 'lm' | 'flow' | 'vocoder',
    text: string,
    seed: number,
    options?: { readonly how?: 'terminate' | 'lose-device'; readonly laterText?: string },
  ): Promise<WorkerLoss & { laterSamples: number[] }>;
  /** Sessions created so far by the page's LM, flow and vocoder workers (announced by the test bundles). */
  sessionsCreated(): number;
  /** Entries in the library's model cache. */
  cachedEntries(): Promise<number>;
  dispose(): Promise<void>;
}

/** One backend comparison of the `variants` page: `graph`'s `dtype` variant on WASM and on WebGPU, seeded inputs. */
export interface ParityRequest {
  readonly graph: 'embed_speech' | 'llm' | 'flow_encoder' | 'flow_step' | 'flow_step_incremental';
  readonly dtype: 'fp32' | 'fp16w' | 'int8' | 'q4';
  readonly seed: number;
  /** Adds `delta` to element `index` of float input `input` on WebGPU only (shows that the comparison catches it). */
  readonly perturbOnWebGpu?: { readonly input: string; readonly index: number; readonly delta: number };
}

/** One output of a {@link ParityRequest}. */
export interface BackendDiff {
  readonly file: string;
  readonly output: string;
  readonly size: number;
  /** Whether both EPs returned as many elements. */
  readonly sameSize: boolean;
  /** max |WebGPU − WASM|. */
  readonly maxDiff: number;
  /** max |WASM|, the scale of the output. */
  readonly maxAbs: number;
}

/** `window.variants` (pages/variants.ts). */
export interface VariantsApi {
  compare(request: ParityRequest): Promise<BackendDiff[]>;
}
