/**
 * The public browser API: `CosyVoice.create()` loads a model package into Web Workers (LM, flow, vocoder by default),
 * then `synthesize()`, `stream()` and `speak()` run requests through them; `cloneVoice()` turns ~3 s of audio into a
 * reusable {@link VoiceProfile}.
 */
import { AudioPlayer } from './audio/player.ts';
import type { PlaybackWriterDescriptor } from './audio/port-transport.ts';
import type { Capabilities } from './capabilities.ts';
import { detectCapabilities } from './capabilities.ts';
import type { CloneInput } from './core/audio-input.ts';
import { decodeAudioInput } from './core/audio-input.ts';
import { rememberedFallbacks, rememberFallback } from './core/device-memory.ts';
import { LoadProgress, stageFiles } from './core/load-progress.ts';
import { requestPersistentStorage } from './core/storage.ts';
import type { WorkerSetup } from './core/worker-hosts.ts';
import { stageHosts, workerConfig } from './core/worker-hosts.ts';
import { Comlink } from './core/rpc.ts';
import type { WorkerFactories, WorkerRole } from './core/spawn-worker.ts';
import { defaultWorkers, WorkerHandle } from './core/spawn-worker.ts';
import { encodeWav } from './dsp/index.ts';
import type { AudioChunk } from './request/chunks.ts';
import type { RequestMetrics } from './request/metrics.ts';
import type { RequestMode, RequestOptions } from './request/options.ts';
import { randomSeed, validateCloneOptions, validateRequestOptions } from './request/options.ts';
import type { SynthesisResult } from './request/result.ts';
import { collectSynthesis } from './request/result.ts';
import type { TextInput } from './request/text-input.ts';
import { checkTextInput } from './request/text-input.ts';
import { checkRequestVoice } from './request/voice.ts';
import type { PipelineResult, StageHosts } from './stages/pipeline.ts';
import { runPipeline } from './stages/pipeline.ts';
import type { PerStage } from './request/placement.ts';
import { checkPromptAudio } from './request/limits.ts';
import type { Placement, StagePlace, SynthesisStage } from './request/placement.ts';
import { clonePlace, resolvePlacement } from './request/placement.ts';
import { invalidInput, TTSError } from './errors.ts';
import type { LoadProgressEvent, RuntimeEvent } from './events.ts';
import { TypedEmitter } from './events.ts';
import { raceAbort } from './base/abort.ts';
import { now } from './base/clock.ts';
import { onDropped } from './base/drop-guard.ts';
import { SerialQueue } from './base/serial-queue.ts';
import type { ModelManifest } from './loader/manifest.ts';
import { clearModelCache } from './loader/clear-cache.ts';
import { fetchManifest } from './loader/remote-package.ts';
import type { ModelSource } from './loader/source.ts';
import { resolveBaseUrl } from './loader/source.ts';
import type { ByteStore } from './loader/store.ts';
import { CacheApiStore, NO_STORE } from './loader/store.ts';
import type { VoiceProfile } from './models/voice/voice-profile.ts';
import { deserializeVoice, serializeVoice, voiceExpectation } from './models/voice/voice-profile.ts';
import type { Device, DeviceRequest, Dtype, DtypeRequest, Stage } from './base/stages.ts';
import type { OrtWasmPaths } from './runtime/ort.ts';
import type { StageReady, StageWorkerConfig, WorkerFileProgress } from './stages/stage-worker.ts';
import type { StorageFailure } from './base/storage-failure.ts';

/** Starts in a row after which a crashed worker is given up (it crashes while initialising, or cannot load). */
const RESTART_ATTEMPTS = 3;

/** Overridable asset locations (house style §1.7). */
export interface CosyVoiceAssets {
  /** Worker factories (e.g. Vite `?worker` imports); missing roles use the package's files. */
  readonly workers?: Partial<WorkerFactories>;
  /** URL of the playback worklet module instead of the built-in Blob URL (CSPs without `blob:`). */
  readonly workletUrl?: string | URL;
  /** Where onnxruntime-web finds its `.wasm` files (default: next to its module, i.e. your own origin). */
  readonly ortWasmPaths?: OrtWasmPaths;
}

/** Options of {@link CosyVoice.create}. */
export interface CosyVoiceOptions {
  /** Model package: a base URL (absolute or relative), `hf:org/name[@revision]`, or `{ huggingFace, revision }`. */
  readonly model: ModelSource;
  /** Device per stage or for all: `'auto'` (WebGPU on a real adapter, else wasm), `'webgpu'`, `'wasm'`. @defaultValue 'auto' */
  readonly device?: PerStage<DeviceRequest>;
  /** Weight format per stage or for all. @defaultValue 'auto' (q4 on WebGPU, int8 on wasm for the LM…) */
  readonly dtype?: PerStage<DtypeRequest>;
  /** Loading progress (bytes per file and in total, from-cache flags, session readiness). */
  readonly onProgress?: (event: LoadProgressEvent) => void;
  /** Cancels loading; the workers are terminated. */
  readonly signal?: AbortSignal;
  /** `'split'`: LM, flow and vocoder workers; `'merged'`: LM worker + one flow/vocoder worker (less memory). @defaultValue 'split' */
  readonly topology?: 'split' | 'merged';
  readonly assets?: CosyVoiceAssets;
  /** `'cache-api'` keeps verified model files for offline use; `'none'` downloads each time. @defaultValue 'cache-api' */
  readonly cache?: 'cache-api' | 'none';
  /** wasm threads per stage (used only when cross-origin isolated). */
  readonly threads?: Partial<Record<Stage, number>>;
  /** Run a short WebGPU self-test per stage and fall back to wasm on failure. @defaultValue true */
  readonly selfTest?: boolean;
  /** An AudioContext created in a user gesture, for {@link CosyVoice.speak}. */
  readonly audioContext?: BaseAudioContext;
}

/** A streaming request while it runs: what to free should its iterator be dropped (see `base/drop-guard.ts`). */
interface RunningRequest {
  id?: string;
  release?: () => void;
  forget?: () => void;
}

/** Where a playing request writes (see {@link CosyVoice.speak}); `endToken` is set when the request ends. */
interface PlaybackTarget {
  readonly player: AudioPlayer;
  endToken: number | undefined;
}

/** An utterance synthesised offline, with a WAV encoder. */
export interface SynthesizedAudio extends SynthesisResult {
  /** 16-bit PCM WAV (or float32) as a Blob. */
  toWav(encoding?: 'pcm16' | 'float32'): Blob;
}

/** Options of {@link CosyVoice.cloneVoice}. */
/** Every key of {@link CloneOptions} (an unknown key is refused: a typo must not be silently ignored). */
const CLONE_OPTION_KEYS = ['transcript', 'signal', 'keepLoaded'] as const satisfies ReadonlyArray<keyof CloneOptions>;

export interface CloneOptions {
  /** What the recording says (zero-shot cloning); omit for a cross-lingual voice. */
  readonly transcript?: string;
  readonly signal?: AbortSignal;
  /** Keep the cloning worker (≈ 0.5 GB) alive for more clones instead of freeing it. @defaultValue false */
  readonly keepLoaded?: boolean;
}

/**
 * CosyVoice 2 in the browser.
 *
 * @example
 * ```ts
 * const tts = await CosyVoice.create({ model: 'https://example.com/cosyvoice2-web/', onProgress: console.log });
 * const voice = await tts.cloneVoice(recordingBlob, { transcript: 'Hello there, nice to meet you.' });
 * button.onclick = () => tts.speak('Streaming speech starts before the sentence is finished.', { voice });
 * ```
 */
export class CosyVoice {
  readonly #events = new TypedEmitter<LoadProgressEvent | RuntimeEvent>();
  /** The synthesis workers, one per entry of `#roles` (a crashed one is replaced in place). */
  readonly #workers: WorkerHandle[];
  readonly #roles: ReadonlyArray<readonly [WorkerRole, readonly Stage[]]>;
  #hosts: StageHosts;
  /** Restarts of crashed workers under way; requests wait for them. */
  readonly #restarts = new Set<Promise<void>>();
  /** Workers being started by a restart (terminated by dispose). */
  readonly #starting = new Set<WorkerHandle>();
  #player: Promise<AudioPlayer> | undefined;
  #voiceWorker: WorkerHandle | undefined;
  readonly #queue = new SerialQueue();
  #requests = 0;
  #disposed = false;
  /** Set when a crashed worker could not be restarted: the instance is then unusable for good. */
  #crash: TTSError | undefined;
  #placement: Placement;

  private constructor(
    /** The validated manifest of the loaded package. */
    readonly manifest: ModelManifest,
    placement: Placement,
    /** Capabilities detected at creation. */
    readonly capabilities: Capabilities,
    private readonly baseUrl: string,
    private readonly options: CosyVoiceOptions,
    roles: ReadonlyArray<readonly [WorkerRole, readonly Stage[]]>,
    workers: WorkerHandle[],
  ) {
    this.#placement = placement;
    this.#roles = roles;
    this.#workers = workers;
    this.#hosts = this.#stageHosts();
    workers.forEach((w, i) => {
      this.#watch(w, i);
    });
  }

  /**
   * Where each stage runs (after any WebGPU fallback). A restarted worker may place its stages elsewhere (e.g. on wasm
   * when its new WebGPU device fails the self-test): this then reads the new place.
   */
  get placement(): Placement {
    return this.#placement;
  }

  /** The worker hosting `stage`. */
  #workerOf(stage: Stage): WorkerHandle {
    const i = this.#roles.findIndex(([, stages]) => stages.includes(stage));
    const worker = this.#workers[i];
    if (worker === undefined) throw new TypeError(`no worker hosts the ${stage} stage`);
    return worker;
  }

  #stageHosts(): StageHosts {
    return stageHosts(this.#workerOf('lm'), this.#workerOf('flow'), this.#workerOf('vocoder'));
  }

  #setup(): WorkerSetup {
    return {
      baseUrl: this.baseUrl,
      manifest: this.manifest,
      caps: this.capabilities,
      threads: this.options.threads,
      cache: this.options.cache ?? 'cache-api',
      ortWasmPaths: this.options.assets?.ortWasmPaths,
    };
  }

  /** Restarts worker `index` when it crashes (not when this instance stops it). */
  #watch(worker: WorkerHandle, index: number): void {
    worker.crashed.catch((error: unknown) => {
      if (this.#disposed || (error as TTSError).code !== 'ERR_WORKER_CRASHED') return;
      const restart = this.#restart(index, error as TTSError).finally(() => this.#restarts.delete(restart));
      this.#restarts.add(restart);
    });
  }

  /**
   * Replaces the crashed worker `index` by a new one initialised as at creation (files from the cache when `cache` is
   * `'cache-api'`, else downloaded again), then emits `recovered`. After {@link RESTART_ATTEMPTS} failed starts in a
   * row (a worker that crashes while initialising would otherwise be restarted for ever) the instance is unusable:
   * every later call rejects with ERR_WORKER_CRASHED.
   */
  async #restart(index: number, crash: TTSError): Promise<void> {
    const [role, stages] = this.#roles[index] ?? [];
    if (role === undefined || stages === undefined) return;
    // The dead worker is stopped once replaced or given up, not now: the request it served is still settling (its
    // calls reject with the crash; a call through a stopped handle's released proxy would throw a plain Error).
    const dead = this.#workers[index];
    const start = now();
    const factories: WorkerFactories = { ...defaultWorkers, ...this.options.assets?.workers };
    const { voice: _voice, ...placement } = this.#placement;
    let failure: unknown = crash;
    for (let attempt = 1; attempt <= RESTART_ATTEMPTS; attempt++) {
      const worker = new WorkerHandle(role, factories[role]());
      this.#starting.add(worker);
      let ready: StageReady[];
      try {
        const config = workerConfig(this.#setup(), stages, placement, this.options.selfTest ?? true);
        ready = await worker.guard(worker.remote.init(config));
      } catch (error) {
        worker.terminate();
        if (this.#disposed) return; // dispose stopped it
        failure = error;
        continue;
      } finally {
        this.#starting.delete(worker);
      }
      if (this.#disposed) {
        worker.terminate();
        return;
      }
      dead?.terminate();
      this.#workers[index] = worker;
      this.#hosts = this.#stageHosts();
      this.#watch(worker, index);
      const devices: Partial<Record<Stage, Device>> = {};
      for (const r of ready) {
        devices[r.stage] = r.device;
        if (r.stage !== 'voice')
          this.#placement = { ...this.#placement, [r.stage]: { device: r.device, dtype: r.dtype } };
        if (r.fallbackReason !== undefined)
          rememberFallback(fallbackKey(this.capabilities, this.manifest), r.stage, r.fallbackReason);
      }
      this.#events.emit({ type: 'recovered', stages, devices, attempts: attempt, ms: now() - start });
      return;
    }
    dead?.terminate();
    const detail = failure instanceof Error ? failure.message : String(failure);
    this.#crash = new TTSError(
      'ERR_WORKER_CRASHED',
      `${crash.message}; restarting it failed ${RESTART_ATTEMPTS} times in a row (last: ${detail}). Dispose this instance and create a new one.`,
      { cause: failure, details: { worker: role } },
    );
  }

  /** Settles when no crashed worker is being restarted (or `signal` aborts). */
  async #restarted(signal: AbortSignal | undefined): Promise<void> {
    while (this.#restarts.size > 0) await raceAbort(Promise.all(this.#restarts), signal);
  }

  /** What this browser offers (no download). */
  static capabilities(): Promise<Capabilities> {
    return detectCapabilities();
  }

  /**
   * Deletes cached model files (the library's Cache API store) and resolves the bytes freed. With `model`, only that
   * package's files, found through its cached manifest (offline too) or else the one on the network; without, every
   * cached model. A file two packages share is stored once, so it goes for both. Instances already loaded keep
   * working (their sessions are in memory); the next `create()` downloads the files again.
   *
   * @example const freed = await CosyVoice.clearCache('models/cosyvoice2/'); // bytes
   * @throws {TTSError} ERR_INVALID_INPUT (an unparsable `model`), ERR_UNSUPPORTED_ENV (no usable Cache API: it needs
   *   a secure context), ERR_ASSET_FETCH / ERR_MODEL_FORMAT (the package's manifest neither cached nor fetchable).
   */
  static async clearCache(model?: ModelSource): Promise<number> {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    return clearModelCache(model === undefined ? {} : { baseUrl: resolveBaseUrl(model, base) });
  }

  /**
   * Loads a model package: fetches the manifest, picks devices and dtypes, starts the workers, downloads (or reads
   * from the cache) and verifies the files, creates the sessions (with a WebGPU self-test and wasm fallback).
   *
   * @throws {TTSError} ERR_INVALID_INPUT (options), ERR_UNSUPPORTED_ENV (no Worker / WebAssembly SIMD),
   *   ERR_ASSET_FETCH, ERR_ASSET_INTEGRITY, ERR_MODEL_FORMAT, ERR_DEVICE_UNAVAILABLE, ERR_SESSION_CREATE,
   *   ERR_WORKER_CRASHED; the abort reason.
   */
  static async create(options: CosyVoiceOptions): Promise<CosyVoice> {
    if (typeof Worker !== 'function')
      throw new TTSError(
        'ERR_UNSUPPORTED_ENV',
        'CosyVoice needs Web Workers (call create() in a browser, not during SSR).',
      );
    const caps = await detectCapabilities();
    if (!caps.wasmSimd)
      throw new TTSError('ERR_UNSUPPORTED_ENV', 'This browser lacks WebAssembly SIMD, which onnxruntime-web requires.');
    const signal = options.signal;
    signal?.throwIfAborted();
    const base = (globalThis as { location?: { href: string } }).location?.href;
    const baseUrl = resolveBaseUrl(options.model, base);
    const cache = options.cache ?? 'cache-api';
    const progress = new LoadProgress(options.onProgress);
    const store = cacheStore(cache, progress);
    const manifest = await fetchManifest(baseUrl, { store, ...(signal ? { signal } : {}) });
    if (cache === 'cache-api') void requestPersistentStorage();
    const decisionKey = fallbackKey(caps, manifest);
    const resolved = resolvePlacement(
      manifest,
      options,
      caps,
      new Set(Object.keys(rememberedFallbacks(decisionKey)) as Stage[]),
    );
    const placement = { lm: resolved.lm, flow: resolved.flow, vocoder: resolved.vocoder };
    const voice = resolved.voice;
    const factories: WorkerFactories = { ...defaultWorkers, ...options.assets?.workers };
    const topology: string = options.topology ?? 'split'; // checked: JS callers may pass anything
    if (topology !== 'split' && topology !== 'merged')
      throw invalidInput(`topology must be 'split' or 'merged', got ${topology}.`);
    const roles: ReadonlyArray<readonly [WorkerRole, readonly Stage[]]> =
      topology === 'split'
        ? [
            ['lm', ['lm']],
            ['flow', ['flow']],
            ['vocoder', ['vocoder']],
          ]
        : [
            ['lm', ['lm']],
            ['acoustic', ['flow', 'vocoder']],
          ];
    const handles = roles.map(([role]) => new WorkerHandle(role, factories[role]()));
    progress.start(
      roles
        .flatMap(([, stages]) =>
          stages.map((s) => ({ stage: s, files: stageFiles(manifest, s, placement[s as 'lm'].dtype) })),
        )
        .flatMap(({ stage, files }) =>
          files.map((file) => ({ stage, file, bytes: manifest.files.find((f) => f.path === file)?.bytes ?? 0 })),
        ),
    );
    const abort = (): void => {
      for (const h of handles) h.terminate();
    };
    signal?.addEventListener('abort', abort, { once: true });
    const setup = {
      baseUrl,
      manifest,
      caps,
      threads: options.threads,
      cache,
      ortWasmPaths: options.assets?.ortWasmPaths,
    };
    const configs = roles.map(([, stages]) => workerConfig(setup, stages, placement, options.selfTest ?? true));
    const onProgress = Comlink.proxy((p: WorkerFileProgress | StorageFailure) => {
      progress.fromWorker(p);
    });
    /** `call` on every worker at once, each raced against its crash and the load's signal. */
    const inEveryWorker = <T>(call: (worker: WorkerHandle, config: StageWorkerConfig) => Promise<T>): Promise<T[]> =>
      Promise.all(
        handles.map((handle, i) => raceAbort(handle.guard(call(handle, configs[i] as StageWorkerConfig)), signal)),
      );
    try {
      // every file of every worker is fetched and verified (sizes, SHA-256) before any session is made anywhere, so
      // a bad last file fails the load at once (issue #13.5)
      await inEveryWorker((worker, config) => worker.remote.fetchFiles(config, onProgress));
      const ready = await inEveryWorker((worker, config) => worker.remote.init(config, onProgress));
      const final: Record<SynthesisStage, StagePlace> = { ...placement };
      for (const r of ready.flat()) {
        if (r.stage !== 'voice') final[r.stage] = { device: r.device, dtype: r.dtype };
        if (r.fallbackReason !== undefined) rememberFallback(decisionKey, r.stage, r.fallbackReason);
        options.onProgress?.({ type: 'session-ready', stage: r.stage, device: r.device, dtype: r.dtype, ms: r.ms });
      }
      options.onProgress?.({
        type: 'ready',
        devices: Object.fromEntries(Object.entries(final).map(([s, p]) => [s, p.device])),
      });
      const all = voice === undefined ? final : { ...final, voice };
      return new CosyVoice(manifest, all, caps, baseUrl, options, roles, handles);
    } catch (error) {
      abort();
      throw error;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** Subscribes to runtime events (`first-audio`, `chunk`, `underrun`, `done`); returns the unsubscribe function. */
  on<T extends RuntimeEvent['type']>(
    type: T,
    listener: (event: Extract<RuntimeEvent, { type: T }>) => void,
  ): () => void {
    return this.#events.on(type, listener);
  }

  #assertUsable(): void {
    if (this.#disposed) throw new TTSError('ERR_DISPOSED', 'This CosyVoice instance has been disposed.');
    if (this.#crash !== undefined) {
      throw new TTSError('ERR_WORKER_CRASHED', this.#crash.message, { cause: this.#crash });
    }
  }

  /**
   * Requests run one after another (FIFO); a queued request that is aborted never starts, and one queued behind a
   * worker's restart starts once the worker is back.
   */
  #enqueue<T>(task: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return this.#queue.run(async () => {
      signal?.throwIfAborted();
      await this.#restarted(signal);
      this.#assertUsable();
      return task();
    });
  }

  async *#run(
    input: TextInput,
    options: RequestOptions,
    mode: RequestMode,
    playback?: PlaybackTarget,
    running: RunningRequest = {},
  ): AsyncGenerator<AudioChunk, PipelineResult, undefined> {
    this.#assertUsable();
    checkTextInput(input);
    validateRequestOptions(options, mode);
    const voice = checkRequestVoice(options.voice, this.manifest);
    const requestId = `req-${++this.#requests}`;
    running.id = requestId;
    let descriptor: PlaybackWriterDescriptor | undefined;
    if (playback !== undefined) {
      await playback.player.settled(); // a writer opened before a pending stop is carried out would be flushed by it
      descriptor = playback.player.writer();
    }
    const { voice: _voice, ...synthesis } = options;
    const events = this.#events;
    const result = yield* runPipeline(
      this.#hosts,
      {
        requestId,
        input,
        voice,
        mode,
        seed: options.seed ?? randomSeed(),
        options: synthesis,
        sampleRate: this.manifest.config.sampleRate,
        ...(descriptor ? { playback: descriptor } : {}),
      },
      {
        onFirstAudio: (ttfaMs) => {
          events.emit({ type: 'first-audio', requestId, ttfaMs });
        },
        onChunk: (chunk, rtf) => {
          const { index, startTime, text } = chunk;
          events.emit({ type: 'chunk', requestId, index, samples: chunk.samples.length, startTime, text, rtf });
        },
      },
    );
    if (playback !== undefined) playback.endToken = result.playbackEnd;
    const { metrics } = result;
    events.emit({
      type: 'done',
      requestId,
      audioSeconds: metrics.audioSeconds,
      rtf: metrics.rtf,
      ttfaMs: metrics.ttfaMs,
      tokensPerSecond: metrics.tokensPerSecond,
    });
    return result;
  }

  /**
   * Synthesises a whole text offline (full attention per segment: the best quality).
   *
   * @throws {TTSError} ERR_INVALID_INPUT, ERR_INFERENCE, ERR_DISPOSED; ERR_WORKER_CRASHED when a worker crashes during
   *   the request (the instance restarts it for the next request: a `recovered` event) or could not be restarted (the
   *   instance is then unusable: dispose it and create a new one); the abort reason.
   */
  synthesize(text: string, options: RequestOptions): Promise<SynthesizedAudio> {
    return this.#enqueue(async () => {
      const result = await collectSynthesis(this.#run(text, options, 'offline'), this.manifest.config.sampleRate);
      return {
        ...result,
        toWav: (encoding: 'pcm16' | 'float32' = 'pcm16') =>
          new Blob([encodeWav(result.samples, result.sampleRate, { encoding })], { type: 'audio/wav' }),
      };
    }, options.signal);
  }

  /**
   * Streams audio chunks as they are synthesised. `input` is a text or a text stream (e.g. a chat model's output):
   * with a stream, the LM starts before the text is complete (CosyVoice 2 bistream). Breaking out of the loop
   * cancels the request.
   */
  stream(input: TextInput, options: RequestOptions): AsyncGenerator<AudioChunk, RequestMetrics, undefined> {
    const running: RunningRequest = {};
    const iterator = this.#inTurn(input, options, undefined, running);
    // an iterator dropped without return() never runs its finally: free the queue and the workers once collected
    running.forget = onDropped(iterator, () => {
      running.release?.();
      const id = running.id;
      if (id !== undefined) {
        for (const host of [this.#hosts.lm, this.#hosts.flow, this.#hosts.vocoder]) {
          Promise.resolve(host.cancel(id)).catch(() => undefined);
        }
      }
    });
    return iterator;
  }

  /** A streaming request that waits for its turn in the request queue. */
  async *#inTurn(
    input: TextInput,
    options: RequestOptions,
    playback: PlaybackTarget | undefined,
    running: RunningRequest = {},
  ): AsyncGenerator<AudioChunk, RequestMetrics, undefined> {
    // reserve our place in the request queue on the first next(), so concurrent streams run one after another
    const { ready, release } = this.#queue.turn();
    running.release = release;
    try {
      await ready;
      options.signal?.throwIfAborted();
      await this.#restarted(options.signal);
      return (yield* this.#run(input, options, 'stream', playback, running)).metrics;
    } finally {
      running.forget?.();
      release();
    }
  }

  /**
   * Creates (or returns) the audio player. Call it synchronously inside a user gesture the first time (e.g. in a
   * click handler before any `await`), unless you passed `audioContext` to {@link CosyVoice.create}.
   */
  unlockAudio(): Promise<AudioPlayer> {
    this.#player ??= AudioPlayer.create({
      sampleRate: this.manifest.config.sampleRate,
      ...(this.options.audioContext === undefined ? {} : { context: this.options.audioContext }),
      ...(this.options.assets?.workletUrl === undefined ? {} : { workletUrl: this.options.assets.workletUrl }),
      onUnderrun: (event) => {
        this.#events.emit(event);
      },
    });
    return this.#player;
  }

  /**
   * Speaks: streams the synthesis into the AudioWorklet player (playback starts with the first chunk) and resolves
   * when the audio has been played out. The vocoder worker writes the audio into the player itself (shared ring
   * buffer when cross-origin isolated, else its own data port), so a busy main thread cannot starve playback.
   *
   * Abort stops both synthesis and playback; so does {@link CosyVoice.stop} (the promise then rejects with an
   * `AbortError`). `chunk` and `first-audio` events fire as for {@link CosyVoice.stream}.
   *
   * @throws {TTSError} as {@link CosyVoice.stream}; ERR_WORKER_CRASHED when the playback worklet fails; the abort
   * reason.
   */
  async speak(input: TextInput, options: RequestOptions): Promise<RequestMetrics> {
    const player = this.unlockAudio(); // synchronous part: inside the caller's gesture
    validateRequestOptions(options, 'stream'); // before the signal is combined below
    const p = await player;
    // One signal for the request: the caller's abort, or the worklet failing (nothing would drain the buffer).
    const failed = new AbortController();
    const signal = options.signal === undefined ? failed.signal : AbortSignal.any([options.signal, failed.signal]);
    const stopPlayback = (): void => {
      if (!failed.signal.aborted) void p.stop(); // a failed player has nothing to stop (and would throw)
    };
    if (signal.aborted) stopPlayback();
    signal.addEventListener('abort', stopPlayback, { once: true });
    const offError = p.on('error', (event) => {
      failed.abort(event.error);
    });
    try {
      const target: PlaybackTarget = { player: p, endToken: undefined };
      const stream = this.#inTurn(input, { ...options, signal }, target);
      let step = await stream.next();
      while (step.done !== true) step = await stream.next();
      await p.drained(target.endToken);
      signal.throwIfAborted();
      return step.value;
    } finally {
      signal.removeEventListener('abort', stopPlayback);
      offError();
    }
  }

  /** Pauses playback (synthesis continues into the buffer). */
  async pause(): Promise<void> {
    (await this.#player)?.pause();
  }

  /** Resumes playback. */
  async resume(): Promise<void> {
    await (await this.#player)?.resume();
  }

  /** Stops playback immediately and drops what is queued; a running {@link CosyVoice.speak} rejects with an `AbortError`. */
  async stop(): Promise<void> {
    await (await this.#player)?.stop();
  }

  /**
   * Clones a voice from a recording: WAV bytes or any format the browser decodes (webm/ogg/mp3 from
   * `MediaRecorder`), an `AudioBuffer`, or mono samples. ~3–10 s of clean speech; at most 30 s.
   *
   * The cloning models run in their own worker, freed afterwards unless `keepLoaded`.
   *
   * @throws {TTSError} ERR_MODEL_FORMAT when the package cannot clone; ERR_INVALID_INPUT for unusable audio.
   */
  async cloneVoice(audio: CloneInput, options: CloneOptions = {}): Promise<VoiceProfile> {
    this.#assertUsable();
    validateCloneOptions(options, CLONE_OPTION_KEYS);
    const { signal } = options;
    signal?.throwIfAborted();
    await this.#restarted(signal);
    this.#assertUsable();
    const place = clonePlace(this.#placement, this.manifest);
    const pcm = await raceAbort(decodeAudioInput(audio), signal);
    checkPromptAudio(pcm.samples.length / pcm.sampleRate, this.manifest.config);
    const transcriptIds =
      options.transcript === undefined || options.transcript.trim() === ''
        ? undefined
        : await raceAbort(this.#transcriptIds(options.transcript), signal);
    const worker = await this.#ensureVoiceWorker(place, signal);
    try {
      // an abort rejects at once; the worker finishes its clone call and, unless kept loaded, is terminated below
      return await raceAbort(
        worker.guard(worker.remote.clone(Comlink.transfer(pcm, [pcm.samples.buffer as ArrayBuffer]), transcriptIds)),
        signal,
      );
    } finally {
      if (options.keepLoaded !== true) {
        this.#voiceWorker = undefined;
        worker.terminate();
      }
    }
  }

  #transcriptIds(transcript: string): Promise<Int32Array> {
    const lm = this.#workerOf('lm');
    return lm.guard(lm.remote.transcriptIds(transcript));
  }

  async #ensureVoiceWorker(
    place: { device: Device; dtype: Dtype },
    signal: AbortSignal | undefined,
  ): Promise<WorkerHandle> {
    if (this.#voiceWorker !== undefined) return this.#voiceWorker;
    const factories: WorkerFactories = { ...defaultWorkers, ...this.options.assets?.workers };
    const handle = new WorkerHandle('voice', factories.voice());
    const progress = new LoadProgress(this.options.onProgress);
    const files = stageFiles(this.manifest, 'voice', place.dtype);
    progress.start(
      files.map((file) => ({
        stage: 'voice' as const,
        file,
        bytes: this.manifest.files.find((f) => f.path === file)?.bytes ?? 0,
      })),
    );
    try {
      signal?.throwIfAborted();
      await handle.guard(
        handle.remote.init(
          workerConfig(this.#setup(), ['voice'], { voice: place }, false),
          Comlink.proxy((p: WorkerFileProgress | StorageFailure) => {
            progress.fromWorker(p);
          }),
        ),
      );
    } catch (error) {
      handle.terminate();
      throw error;
    }
    this.#voiceWorker = handle;
    return handle;
  }

  /** Serialises a voice to a compact binary file (store it in IndexedDB, a file, …). */
  saveVoice(voice: VoiceProfile): Uint8Array<ArrayBuffer> {
    return serializeVoice(voice);
  }

  /** Reads a voice file and checks it fits this model. @throws {TTSError} ERR_INVALID_INPUT */
  loadVoice(bytes: ArrayBuffer | Uint8Array): VoiceProfile {
    return deserializeVoice(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), {
      expect: voiceExpectation(this.manifest),
    });
  }

  /** Terminates the workers and closes the player. The instance cannot be used afterwards; create a new one. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.allSettled(
      this.#workers
        .filter((w) => !w.stopped) // a crashed worker given up is stopped already
        .map((w) => Promise.race([w.remote.dispose(), new Promise((r) => setTimeout(r, 1000))])),
    );
    for (const w of [...this.#workers, ...this.#starting]) w.terminate();
    this.#voiceWorker?.terminate();
    const player = this.#player;
    if (player !== undefined) await (await player.catch(() => undefined))?.dispose();
    this.#events.clear();
  }
}

/**
 * The main thread's store (the manifest, for offline starts). The cache's failures become the load's `storage`
 * warning, and so does a Cache API missing where `'cache-api'` was asked for (the workers see the same realm kind).
 */
function cacheStore(cache: 'cache-api' | 'none', progress: LoadProgress): ByteStore {
  if (cache !== 'cache-api') return NO_STORE;
  if (!CacheApiStore.available()) {
    progress.storage({
      reason: 'unavailable',
      message: 'The Cache API is not available here (it needs a secure context: HTTPS or localhost).',
    });
    return NO_STORE;
  }
  return new CacheApiStore({
    onFailure: (failure) => {
      progress.storage(failure);
    },
  });
}

/** Key of the remembered WebGPU fallbacks: one adapter and one model (a stage that failed there is not tried again). */
function fallbackKey(caps: Capabilities, manifest: ModelManifest): string {
  return `${caps.adapter.vendor}/${caps.adapter.architecture}/${manifest.modelId}`;
}
