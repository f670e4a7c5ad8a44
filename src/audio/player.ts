/**
 * `AudioPlayer`: streaming playback of mono PCM through the `'tts-playback-v1'` AudioWorklet (house style §4).
 *
 * Data path: a producer (a worker via {@link AudioPlayer.writer}, or this thread via {@link AudioPlayer.write})
 * writes chunks as they are decoded; the worklet starts after a short pre-roll, so the first chunk is heard while
 * later ones are still being synthesised. Transport: a `SharedArrayBuffer` ring when the page is cross-origin
 * isolated, otherwise transferred chunks over a `MessagePort` (see `port-transport.ts`); `'auto'` picks by
 * `crossOriginIsolated`.
 *
 * Sample rate: the context is requested at the source rate (24 kHz), so no resampling happens in our code and the
 * browser converts to the device rate with its own resampler. When the browser refuses that rate (older Safari
 * throws `NotSupportedError` for a `sampleRate` option) or the app passes its own context at another rate, the worklet
 * resamples linearly with a phase that persists across chunks. We chose this over an `AudioBuffer` path (which cannot
 * stream without gaps, see the landscape notes) and over resampling in the producer (which would tie producers to the
 * context): it is allocation-free, continuous, and only the fallback.
 *
 * Everything here is SSR-safe to import: nothing touches `window`, `AudioContext` or `Worker` at module load.
 */
import { TTSError, invalidInput } from '../errors.ts';
import { TypedEmitter, type RuntimeEvent } from '../events.ts';
import { PortPlaybackControl, SharedPlaybackControl, type PlaybackControl } from './playback-control.ts';
import {
  PROCESSOR_NAME,
  type PlaybackProcessorOptions,
  type PlaybackState,
  type PlaybackStatus,
} from './playback-protocol.ts';
import {
  openPlaybackWriter,
  type PlaybackWriter,
  type PlaybackWriterDescriptor,
  type WriteOptions,
} from './port-transport.ts';
import { RingBuffer } from './ring-buffer.ts';
import { WORKLET_SOURCE } from './worklet-source.generated.ts';

/** Default values of {@link AudioPlayerOptions}. */
export const PLAYER_DEFAULTS = Object.freeze({
  sampleRate: 24000,
  latencyHint: 'interactive' as const,
  transport: 'auto' as const,
  bufferSeconds: 20,
  prerollMs: 100,
  fadeMs: 5,
});

/** Options of {@link AudioPlayer.create}. */
export interface AudioPlayerOptions {
  /**
   * A context the app created (or resumed) inside a user gesture. When omitted, `create` makes an `AudioContext`
   * itself, so it must then be called synchronously within the gesture (before any `await`). An
   * `OfflineAudioContext` works too (rendering is then up to the caller).
   */
  readonly context?: BaseAudioContext;
  /**
   * Sample rate of the audio you write, in Hz; also the rate requested for a context `create` makes.
   * @defaultValue 24000
   */
  readonly sampleRate?: number;
  /**
   * Latency hint for a context `create` makes.
   * @defaultValue 'interactive'
   */
  readonly latencyHint?: AudioContextLatencyCategory | number;
  /**
   * URL of the worklet module instead of the built-in Blob URL (for a CSP without `blob:`); point it at the
   * package's `cosyvoice-web/worklet` export.
   */
  readonly workletUrl?: string | URL;
  /**
   * `'sab'` (shared ring; needs `crossOriginIsolated`), `'port'` (transferred chunks) or `'auto'`.
   * @defaultValue 'auto'
   */
  readonly transport?: 'auto' | 'sab' | 'port';
  /**
   * How much audio may be queued ahead of playback, in seconds (producers wait when it is full).
   * @defaultValue 20
   */
  readonly bufferSeconds?: number;
  /**
   * Audio buffered before playback starts, and restarts after an underrun, in milliseconds.
   * @defaultValue 100
   */
  readonly prerollMs?: number;
  /**
   * Fade-out on underrun/pause/stop and fade-in on resume, in milliseconds (0 = hard cuts).
   * @defaultValue 5
   */
  readonly fadeMs?: number;
  /**
   * Where the player connects; `null` leaves it unconnected (connect `player.node` yourself).
   * @defaultValue `context.destination`
   */
  readonly destination?: AudioNode | null;
  /** Called with the total count each time new underruns are observed. */
  readonly onUnderrun?: (event: Extract<RuntimeEvent, { type: 'underrun' }>) => void;
  /** Called once if the worklet processor fails (`ERR_WORKER_CRASHED`). */
  readonly onError?: (error: TTSError) => void;
}

/** Events of an {@link AudioPlayer}. */
export type PlayerEvent =
  | Extract<RuntimeEvent, { type: 'underrun' }>
  | { readonly type: 'state'; readonly state: PlaybackState }
  | { readonly type: 'drained'; readonly token: number }
  | { readonly type: 'error'; readonly error: TTSError };

interface Waiter {
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const TRANSPORTS = ['auto', 'sab', 'port'] as const;

/** `addModule` promises per context (a cache, not configuration: the module is the same for every player). */
const modules = new WeakMap<BaseAudioContext, Promise<void>>();

/**
 * Adds the playback worklet module to `context` once; later calls for the same context share the first promise
 * (cached in a `WeakMap`, the Tone.js pattern). Without `workletUrl` the module comes from a Blob URL built from the
 * bundled source, revoked once loaded.
 *
 * @throws {TTSError} ERR_UNSUPPORTED_ENV when AudioWorklet is unavailable (insecure context, old browser) or the
 * module cannot be loaded (e.g. a CSP that blocks `blob:`: pass `workletUrl`).
 */
export function loadPlaybackWorklet(context: BaseAudioContext, workletUrl?: string | URL): Promise<void> {
  let loading = modules.get(context);
  if (loading === undefined) {
    loading = addModule(context, workletUrl);
    modules.set(context, loading);
    loading.catch(() => modules.delete(context));
  }
  return loading;
}

async function addModule(context: BaseAudioContext, workletUrl: string | URL | undefined): Promise<void> {
  const worklet = (context as { audioWorklet?: AudioWorklet }).audioWorklet;
  if (worklet === undefined) {
    throw new TTSError(
      'ERR_UNSUPPORTED_ENV',
      'AudioWorklet is unavailable: it needs a secure context (https: or http://localhost) and a browser with Web Audio worklets',
    );
  }
  if (workletUrl !== undefined) {
    try {
      await worklet.addModule(String(workletUrl));
    } catch (cause) {
      throw new TTSError('ERR_UNSUPPORTED_ENV', `Loading the playback worklet from ${String(workletUrl)} failed`, {
        cause,
        details: { workletUrl: String(workletUrl) },
      });
    }
    return;
  }
  const url = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: 'text/javascript' }));
  try {
    await worklet.addModule(url);
  } catch (cause) {
    throw new TTSError(
      'ERR_UNSUPPORTED_ENV',
      'Loading the playback worklet from a blob: URL failed (a Content-Security-Policy may forbid blob: scripts); pass workletUrl pointing at cosyvoice-web/worklet',
      { cause },
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

function isRealtimeContext(context: BaseAudioContext): context is AudioContext {
  return typeof AudioContext === 'function' && context instanceof AudioContext;
}

function createContext(sampleRate: number, latencyHint: AudioContextLatencyCategory | number): AudioContext {
  if (typeof AudioContext !== 'function') {
    throw new TTSError('ERR_UNSUPPORTED_ENV', 'Web Audio (AudioContext) is unavailable in this environment');
  }
  try {
    return new AudioContext({ sampleRate, latencyHint });
  } catch {
    // The engine refuses this context rate: use its default rate; the worklet resamples (see the module comment).
    return new AudioContext({ latencyHint });
  }
}

function positive(value: number, name: string, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw invalidInput(`AudioPlayer: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`, {
      [name]: value,
    });
  }
  return value;
}

/**
 * Streams PCM chunks to the speakers through an AudioWorklet, starting with the first chunk.
 *
 * Lifecycle: `create` (in a user gesture) → `write`/`writer` + `end` → `drained` → … → `dispose`.
 *
 * @example
 * ```ts
 * button.onclick = async () => {
 *   const player = await AudioPlayer.create(); // synchronous part runs inside the click
 *   for await (const chunk of tts.stream(text)) await player.write(chunk.samples);
 *   await player.drained(player.end());
 * };
 * ```
 */
export class AudioPlayer {
  /** The audio context (created by {@link create} unless passed in). */
  readonly context: BaseAudioContext;
  /** The worklet node, connected to the destination unless `destination: null`. */
  readonly node: AudioWorkletNode;
  /** The transport in use. */
  readonly transport: 'sab' | 'port';
  /** Sample rate of the audio to write, in Hz. */
  readonly sampleRate: number;
  /** Frames that may be queued ahead of playback. */
  readonly capacity: number;
  /** Frames buffered before playback starts. */
  readonly prerollFrames: number;
  /** Fade length in output (context) frames. */
  readonly fadeFrames: number;

  private readonly control: PlaybackControl;
  private readonly ownsContext: boolean;
  private readonly events = new TypedEmitter<PlayerEvent>();
  private readonly onUnderrun: AudioPlayerOptions['onUnderrun'];
  private readonly onError: AudioPlayerOptions['onError'];
  private drainWaiters: Waiter[] = [];
  private stopWaiters: Waiter[] = [];
  private localWriter: PlaybackWriter | null = null;
  private localEnd = 0;
  private stops = 0;
  private failure: TTSError | null = null;
  private disposed = false;
  private previous: { state: PlaybackState; underruns: number; drained: number } = {
    state: 'idle',
    underruns: 0,
    drained: 0,
  };

  /**
   * Creates the context (unless given), loads the worklet and creates the node.
   *
   * **Autoplay:** browsers only start audio from a user gesture. Call `create` synchronously inside the gesture's
   * handler (its synchronous part creates and resumes the context before the first `await`), or create/resume an
   * `AudioContext` in the gesture yourself and pass it as `context`. Otherwise call {@link resume} from a gesture
   * later.
   *
   * @throws {TTSError} ERR_UNSUPPORTED_ENV without Web Audio/AudioWorklet, or when the worklet fails to load or does
   * not register `'tts-playback-v1'`.
   * @throws {TTSError} ERR_NOT_ISOLATED when `transport: 'sab'` is requested without cross-origin isolation.
   * @throws {TTSError} ERR_INVALID_INPUT for invalid options.
   */
  static async create(options: AudioPlayerOptions = {}): Promise<AudioPlayer> {
    const sampleRate = positive(options.sampleRate ?? PLAYER_DEFAULTS.sampleRate, 'sampleRate');
    const bufferSeconds = positive(options.bufferSeconds ?? PLAYER_DEFAULTS.bufferSeconds, 'bufferSeconds');
    const prerollMs = positive(options.prerollMs ?? PLAYER_DEFAULTS.prerollMs, 'prerollMs', true);
    const fadeMs = positive(options.fadeMs ?? PLAYER_DEFAULTS.fadeMs, 'fadeMs', true);
    const requested = options.transport ?? PLAYER_DEFAULTS.transport;
    if (!(TRANSPORTS as readonly string[]).includes(requested)) {
      throw invalidInput(`AudioPlayer: transport must be 'auto', 'sab' or 'port', got ${requested}`);
    }
    const canShare = globalThis.crossOriginIsolated && typeof SharedArrayBuffer === 'function';
    if (requested === 'sab' && !canShare) {
      throw new TTSError(
        'ERR_NOT_ISOLATED',
        "transport 'sab' needs a cross-origin isolated page (COOP: same-origin, COEP: require-corp or credentialless); use 'auto' or 'port'",
      );
    }
    const transport = requested === 'auto' ? (canShare ? 'sab' : 'port') : requested;

    // Synchronous part: runs inside the caller's user gesture.
    const ownsContext = options.context === undefined;
    const context = options.context ?? createContext(sampleRate, options.latencyHint ?? PLAYER_DEFAULTS.latencyHint);
    if (isRealtimeContext(context) && context.state === 'suspended') {
      context.resume().catch(() => undefined);
    }

    const capacity = Math.max(128, Math.round(bufferSeconds * sampleRate));
    const prerollFrames = Math.min(capacity, Math.round((prerollMs * sampleRate) / 1000));
    const fadeFrames = Math.round((fadeMs * context.sampleRate) / 1000);
    const buffer = transport === 'sab' ? (RingBuffer.allocate(capacity) as SharedArrayBuffer) : undefined;
    try {
      await loadPlaybackWorklet(context, options.workletUrl);
    } catch (error) {
      if (ownsContext && isRealtimeContext(context)) context.close().catch(() => undefined);
      throw error;
    }
    const processorOptions: PlaybackProcessorOptions = {
      transport,
      sourceRate: sampleRate,
      prerollFrames,
      fadeFrames,
      ...(buffer === undefined ? { queueSlots: 256 } : { buffer }),
    };
    let node: AudioWorkletNode;
    try {
      node = new AudioWorkletNode(context, PROCESSOR_NAME, {
        numberOfInputs: 0,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        processorOptions,
      });
    } catch (cause) {
      if (ownsContext && isRealtimeContext(context)) context.close().catch(() => undefined);
      throw new TTSError(
        'ERR_UNSUPPORTED_ENV',
        `Creating the '${PROCESSOR_NAME}' worklet node failed (does the worklet module register it? check workletUrl)`,
        { cause },
      );
    }
    const destination = options.destination === undefined ? context.destination : options.destination;
    if (destination !== null) node.connect(destination);
    return new AudioPlayer({
      context,
      node,
      transport,
      sampleRate,
      capacity,
      prerollFrames,
      fadeFrames,
      ring: buffer === undefined ? null : new RingBuffer(buffer),
      ownsContext,
      onUnderrun: options.onUnderrun,
      onError: options.onError,
    });
  }

  private constructor(init: {
    context: BaseAudioContext;
    node: AudioWorkletNode;
    transport: 'sab' | 'port';
    sampleRate: number;
    capacity: number;
    prerollFrames: number;
    fadeFrames: number;
    ring: RingBuffer | null;
    ownsContext: boolean;
    onUnderrun: AudioPlayerOptions['onUnderrun'];
    onError: AudioPlayerOptions['onError'];
  }) {
    this.context = init.context;
    this.node = init.node;
    this.transport = init.transport;
    this.sampleRate = init.sampleRate;
    this.capacity = init.capacity;
    this.prerollFrames = init.prerollFrames;
    this.fadeFrames = init.fadeFrames;
    this.ownsContext = init.ownsContext;
    this.onUnderrun = init.onUnderrun;
    this.onError = init.onError;
    this.node.onprocessorerror = () => {
      this.fail(
        new TTSError(
          'ERR_WORKER_CRASHED',
          `The playback worklet processor '${PROCESSOR_NAME}' failed; dispose this player and create a new one`,
          { details: { processor: PROCESSOR_NAME } },
        ),
      );
    };
    const onStatus = (status: PlaybackStatus): void => {
      if (this.running()) this.update(status);
    };
    this.control =
      init.ring === null
        ? new PortPlaybackControl(this.node.port, onStatus)
        : new SharedPlaybackControl(init.ring, onStatus);
  }

  /** Subscribes to player events; returns the unsubscribe function. */
  on<T extends PlayerEvent['type']>(type: T, listener: (event: Extract<PlayerEvent, { type: T }>) => void): () => void {
    return this.events.on(type, listener);
  }

  /**
   * Latest known status. With the ring it is read from shared memory (current); with the port transport it is the
   * last report (use {@link status} for a fresh one).
   */
  get lastStatus(): PlaybackStatus {
    return this.control.lastStatus;
  }

  /**
   * Current counters and state, fresh from the worklet.
   *
   * @throws {TTSError} ERR_DISPOSED after {@link dispose}; ERR_WORKER_CRASHED after a processor failure.
   */
  status(): Promise<PlaybackStatus> {
    this.assertUsable();
    return this.control.status();
  }

  /**
   * Queues PCM from this thread (copied), waiting while the buffer is full. Waits for a pending {@link stop} first.
   *
   * @returns `true` when queued; `false` when a {@link stop} discarded it.
   * @throws {TTSError} ERR_DISPOSED / ERR_WORKER_CRASHED; the signal's reason when aborted.
   */
  async write(samples: Float32Array, options: WriteOptions = {}): Promise<boolean> {
    this.assertUsable();
    if (this.stopWaiters.length > 0) await this.stopAcknowledged(this.stops);
    return this.ownWriter().write(samples, options);
  }

  /**
   * Marks the end of what this thread has written: the rest plays even below the pre-roll.
   *
   * @returns the end token for {@link drained}.
   */
  end(): number {
    this.assertUsable();
    this.localEnd = this.ownWriter().end();
    return this.localEnd;
  }

  /**
   * Resolves once every {@link stop} requested so far has been carried out by the worklet: open a {@link writer}
   * after it, or the pending stop would discard what the new writer queues.
   *
   * @throws {TTSError} ERR_DISPOSED / ERR_WORKER_CRASHED.
   */
  settled(): Promise<void> {
    this.assertUsable();
    return this.stopAcknowledged(this.stops);
  }

  /**
   * A producer description for another thread (or this one): pass it to `openPlaybackWriter` there, posting it with
   * `transferablesOf(descriptor)` as the transfer list. One producer at a time; open it after any pending
   * {@link stop} has resolved (a stop closes every writer opened before it).
   */
  writer(): PlaybackWriterDescriptor {
    this.assertUsable();
    return this.control.writer({ sampleRate: this.sampleRate, capacity: this.capacity });
  }

  /**
   * Resolves when the stream ended by `token` has been played out (or flushed by {@link stop}). Without a token,
   * waits for the latest end this player knows: with the ring, any producer's; with the port transport, this
   * thread's {@link end} or the latest end the worklet reported. Resolves at once when there is nothing to wait for.
   *
   * @throws {TTSError} ERR_DISPOSED when disposed first; ERR_WORKER_CRASHED when the processor fails.
   */
  drained(token?: number): Promise<void> {
    this.assertUsable();
    const target = token ?? Math.max(this.localEnd, this.control.latestEnd());
    if (this.lastStatus.drained >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.drainWaiters.push({ target, resolve, reject });
    });
  }

  /** Pauses output (with a short fade); nothing is consumed while paused, producers fill the buffer and wait. */
  pause(): void {
    this.assertUsable();
    this.control.pause(true);
  }

  /**
   * Resumes after {@link pause} (re-buffering to the pre-roll, fading in) and resumes a suspended context: call it
   * from a user gesture if the context was created outside one.
   */
  async resume(): Promise<void> {
    this.assertUsable();
    this.control.pause(false);
    if (isRealtimeContext(this.context) && this.context.state === 'suspended') await this.context.resume();
  }

  /**
   * Silences playback (short fade) and discards everything queued; closes every writer opened so far. Pending
   * {@link drained} promises resolve. Also clears a pause. Resolves once the worklet has carried it out (on its next
   * render quantum).
   */
  stop(): Promise<void> {
    this.assertUsable();
    const seq = ++this.stops;
    this.localWriter?.close();
    this.localWriter = null;
    this.control.stop(seq);
    return this.stopAcknowledged(seq);
  }

  /**
   * Stops the processor, disconnects the node and closes the context if this player created it. Pending promises
   * reject with ERR_DISPOSED. Idempotent.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.localWriter?.close();
    this.localWriter = null;
    this.control.dispose();
    this.node.onprocessorerror = null;
    this.node.disconnect();
    this.rejectAll(new TTSError('ERR_DISPOSED', 'The audio player was disposed'));
    this.events.clear();
    if (this.ownsContext && isRealtimeContext(this.context) && this.context.state !== 'closed') {
      await this.context.close();
    }
  }

  private ownWriter(): PlaybackWriter {
    if (this.localWriter === null || this.localWriter.closed) this.localWriter = openPlaybackWriter(this.writer());
    return this.localWriter;
  }

  private stopAcknowledged(seq: number): Promise<void> {
    if (this.lastStatus.stopAck >= seq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.stopWaiters.push({ target: seq, resolve, reject });
    });
  }

  private assertUsable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.disposed) throw new TTSError('ERR_DISPOSED', 'The audio player was disposed');
  }

  private running(): boolean {
    return !this.disposed && this.failure === null;
  }

  private update(status: PlaybackStatus): void {
    const previous = this.previous;
    this.previous = { state: status.state, underruns: status.underruns, drained: status.drained };
    if (status.underruns > previous.underruns) {
      const event = { type: 'underrun', count: status.underruns } as const;
      this.events.emit(event);
      this.onUnderrun?.(event);
    }
    if (status.state !== previous.state) this.events.emit({ type: 'state', state: status.state });
    if (status.drained !== previous.drained) this.events.emit({ type: 'drained', token: status.drained });
    this.drainWaiters = settle(this.drainWaiters, status.drained);
    this.stopWaiters = settle(this.stopWaiters, status.stopAck);
  }

  private fail(error: TTSError): void {
    if (this.failure !== null || this.disposed) return;
    this.failure = error;
    this.localWriter?.close();
    this.rejectAll(error);
    this.events.emit({ type: 'error', error });
    this.onError?.(error);
  }

  private rejectAll(error: unknown): void {
    for (const waiter of [...this.drainWaiters, ...this.stopWaiters]) waiter.reject(error);
    this.drainWaiters = [];
    this.stopWaiters = [];
    this.control.rejectPending(error);
  }
}

function settle(waiters: Waiter[], reached: number): Waiter[] {
  if (waiters.length === 0) return waiters;
  const pending: Waiter[] = [];
  for (const waiter of waiters) {
    if (reached >= waiter.target) waiter.resolve();
    else pending.push(waiter);
  }
  return pending;
}
