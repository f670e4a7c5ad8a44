/**
 * The producer side of playback: how a thread that has PCM (the vocoder worker, or the main thread) hands it to the
 * playback worklet, over either transport.
 *
 * - `'sab'` (cross-origin isolated pages): {@link RingBuffer} writes into the shared ring; backpressure waits on the
 *   ring's read index with `Atomics.waitAsync` (a short timer where it is missing).
 * - `'port'` (the fallback without isolation): chunks are copied into buffers that are *transferred* to the worklet
 *   over a dedicated `MessagePort`; the worklet transfers each buffer back once played, which both credits the
 *   producer (backpressure: at most `maxQueuedFrames` in flight) and lets it reuse the buffer.
 *
 * A {@link PlaybackWriterDescriptor} is plain structured-clonable data (plus a transferable port): get one from
 * `AudioPlayer.writer()` on the main thread, `postMessage` it to a worker with {@link transferablesOf}, and call
 * {@link openPlaybackWriter} there. This module uses no DOM API, so it runs in the main thread and in workers.
 *
 * Rules for producers: one writer writes at a time (single producer); a `stop()` of the player closes every writer
 * opened before it (`write` then resolves `false` and nothing more is played from it).
 */
import { SLOT, type DataMessage, type DataReply } from './playback-protocol.ts';
import { RingBuffer } from './ring-buffer.ts';

/** How long a producer sleeps at most before re-checking for room, abort or stop, in milliseconds. */
const WAIT_SLICE_MS = 250;
/** Poll period where `Atomics.waitAsync` is missing, in milliseconds. */
const POLL_MS = 10;
/** Buffers kept for reuse by a port writer. */
const POOL_SIZE = 8;
/** End tokens of a port writer are `writerId * END_TOKEN_STRIDE + n` (monotonic across successive writers). */
export const END_TOKEN_STRIDE = 2 ** 20;

/** Everything a producer needs to open a {@link PlaybackWriter}; structured-clonable (transfer the port). */
export type PlaybackWriterDescriptor =
  | {
      readonly transport: 'sab';
      /** The ring (see {@link RingBuffer}). */
      readonly buffer: SharedArrayBuffer;
      /** The player's stop count when the descriptor was made: the writer is closed by any later stop. */
      readonly epoch: number;
      /** Sample rate the player expects, in Hz. */
      readonly sampleRate: number;
    }
  | {
      readonly transport: 'port';
      /** The producer end of a channel whose other end is attached to the worklet. */
      readonly port: MessagePort;
      /** Unique per player, increasing: makes end tokens monotonic. */
      readonly writerId: number;
      /** Frames allowed in flight (sent and not yet played). */
      readonly maxQueuedFrames: number;
      /** Chunks allowed in flight (the worklet's queue slots). */
      readonly maxChunks: number;
      /** Sample rate the player expects, in Hz. */
      readonly sampleRate: number;
    };

/** The objects to list as `transfer` when posting a descriptor to another thread. */
export function transferablesOf(descriptor: PlaybackWriterDescriptor): Transferable[] {
  return descriptor.transport === 'port' ? [descriptor.port] : [];
}

/** Options of {@link PlaybackWriter.write}. */
export interface WriteOptions {
  /** Aborts waiting for room: `write` rejects with the signal's reason; frames already written stay queued. */
  readonly signal?: AbortSignal;
}

/**
 * Producer handle. **Producer: exactly one thread and one writer at a time.**
 */
export interface PlaybackWriter {
  /** The transport in use. */
  readonly transport: 'sab' | 'port';
  /** Sample rate the player expects, in Hz (resample before writing if your audio differs). */
  readonly sampleRate: number;
  /** True once {@link close}d, or the player stopped or was disposed after this writer was opened. */
  readonly closed: boolean;
  /** How many times {@link write} had to wait for room (backpressure). */
  readonly waits: number;
  /**
   * Queues all of `samples` (copied: the caller keeps its array), waiting for room as needed.
   *
   * @returns `true` when everything was queued, `false` when the writer was closed first (the rest is dropped).
   * @throws the signal's reason when aborted.
   */
  write(samples: Float32Array, options?: WriteOptions): Promise<boolean>;
  /**
   * Queues as much of `samples[offset … offset + length)` as fits now, without waiting.
   *
   * @returns the number of frames queued.
   */
  tryWrite(samples: Float32Array, offset?: number, length?: number): number;
  /**
   * Marks the end of the stream written so far: the worklet plays out what remains even below the pre-roll, then
   * reports it drained.
   *
   * @returns the end token to pass to `AudioPlayer.drained(token)` (0 when the writer is closed).
   */
  end(): number;
  /** Resolves once everything posted so far has reached the worklet (immediate for the ring). */
  flush(): Promise<void>;
  /** Releases the writer (the player and the worklet are unaffected). */
  close(): void;
}

/**
 * Opens the producer side of a descriptor made by `AudioPlayer.writer()`, in any thread.
 *
 * @throws {TypeError} for a malformed descriptor.
 */
export function openPlaybackWriter(descriptor: PlaybackWriterDescriptor): PlaybackWriter {
  switch (descriptor.transport) {
    case 'sab':
      return new RingWriter(descriptor.buffer, descriptor.epoch, descriptor.sampleRate);
    case 'port': {
      const { port, writerId, maxQueuedFrames, maxChunks, sampleRate } = descriptor;
      return new PortWriter(port, writerId, maxQueuedFrames, maxChunks, sampleRate);
    }
  }
  // Descriptors come from other threads: a wrong tag is possible at run time.
  throw new TypeError(
    `openPlaybackWriter: unknown transport ${JSON.stringify((descriptor as { transport?: unknown }).transport)}`,
  );
}

type WaitAsync = (
  view: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };

/**
 * Resolves when `view[index]` may differ from `value`: on `Atomics.notify`, after `timeoutMs`, or when `signal`
 * aborts. Uses `Atomics.waitAsync` when the realm has it and a short poll otherwise, so it never blocks a thread.
 * Callers re-check their condition after it resolves (wake-ups can be spurious).
 */
export function waitForChange(
  view: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
  let notified: Promise<unknown> | undefined;
  if (typeof waitAsync === 'function' && view.buffer instanceof SharedArrayBuffer) {
    const result = waitAsync(view, index, value, timeoutMs);
    if (!result.async) return Promise.resolve();
    notified = result.value;
  } else if (Atomics.load(view, index) !== value) {
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    // The timer also keeps runtimes alive whose event loop ignores pending `waitAsync` promises (Node).
    const timer = setTimeout(done, notified === undefined ? Math.min(timeoutMs, POLL_MS) : timeoutMs);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
    void notified?.then(done);
  });
}

/** Producer over the shared ring. */
class RingWriter implements PlaybackWriter {
  readonly transport = 'sab';
  readonly sampleRate: number;
  waits = 0;
  private readonly ring: RingBuffer;
  private readonly epoch: number;
  private released = false;

  constructor(buffer: SharedArrayBuffer, epoch: number, sampleRate: number) {
    this.ring = new RingBuffer(buffer);
    this.epoch = epoch;
    this.sampleRate = sampleRate;
    // Claim the producer role for this epoch; the worklet discards data while the claimed epoch is older than the
    // latest stop, so a writer from before a stop can never be heard after it.
    if (!this.closed) Atomics.store(this.ring.header, SLOT.writerEpoch, epoch);
  }

  get closed(): boolean {
    const header = this.ring.header;
    return this.released || Atomics.load(header, SLOT.stop) !== this.epoch || Atomics.load(header, SLOT.dispose) !== 0;
  }

  tryWrite(samples: Float32Array, offset = 0, length: number = samples.length - offset): number {
    if (this.closed) return 0;
    const count = this.ring.push(samples, offset, length);
    if (count > 0) Atomics.notify(this.ring.header, SLOT.write);
    return count;
  }

  async write(samples: Float32Array, options: WriteOptions = {}): Promise<boolean> {
    const { signal } = options;
    const header = this.ring.header;
    let offset = 0;
    while (offset < samples.length) {
      signal?.throwIfAborted();
      if (this.closed) return false;
      const read = Atomics.load(header, SLOT.read);
      const count = this.ring.push(samples, offset);
      // Wakes a consumer that blocks on the write index (the worklet polls instead, so this is cheap and optional).
      if (count > 0) Atomics.notify(header, SLOT.write);
      offset += count;
      if (offset < samples.length) {
        this.waits++;
        await waitForChange(header, SLOT.read, read, WAIT_SLICE_MS, signal);
      }
    }
    signal?.throwIfAborted();
    return true;
  }

  end(): number {
    return this.closed ? 0 : Atomics.add(this.ring.header, SLOT.ended, 1) + 1;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.released = true;
  }
}

/** Producer over a `MessagePort` attached to the worklet. */
class PortWriter implements PlaybackWriter {
  readonly transport = 'port';
  readonly sampleRate: number;
  waits = 0;
  private readonly port: MessagePort;
  private readonly writerId: number;
  private readonly maxQueuedFrames: number;
  private readonly maxChunks: number;
  private readonly maxChunkFrames: number;
  private inFlightFrames = 0;
  private inFlightChunks = 0;
  private ends = 0;
  private syncs = 0;
  private isClosed = false;
  private readonly pool: Float32Array[] = [];
  private wakers: (() => void)[] = [];
  private readonly pendingSyncs = new Map<number, () => void>();

  constructor(port: MessagePort, writerId: number, maxQueuedFrames: number, maxChunks: number, sampleRate: number) {
    if (!Number.isInteger(maxQueuedFrames) || maxQueuedFrames < 1 || !Number.isInteger(maxChunks) || maxChunks < 1) {
      throw new TypeError('openPlaybackWriter: maxQueuedFrames and maxChunks must be positive integers');
    }
    this.port = port;
    this.writerId = writerId;
    this.maxQueuedFrames = maxQueuedFrames;
    this.maxChunks = maxChunks;
    this.maxChunkFrames = Math.max(1, Math.floor(maxQueuedFrames / 4));
    this.sampleRate = sampleRate;
    port.onmessage = (event: MessageEvent<unknown>) => {
      this.onReply(event.data);
    };
  }

  get closed(): boolean {
    return this.isClosed;
  }

  tryWrite(samples: Float32Array, offset = 0, length: number = samples.length - offset): number {
    if (this.isClosed || this.inFlightChunks >= this.maxChunks) return 0;
    const count = Math.min(length, samples.length - offset, this.maxQueuedFrames - this.inFlightFrames);
    if (!(count > 0) || offset < 0) return 0;
    this.send(samples, offset, count);
    return count;
  }

  async write(samples: Float32Array, options: WriteOptions = {}): Promise<boolean> {
    const { signal } = options;
    let offset = 0;
    while (offset < samples.length) {
      signal?.throwIfAborted();
      if (this.isClosed) return false;
      const want = Math.min(samples.length - offset, this.maxChunkFrames);
      if (this.maxQueuedFrames - this.inFlightFrames >= want && this.inFlightChunks < this.maxChunks) {
        this.send(samples, offset, want);
        offset += want;
      } else {
        this.waits++;
        await this.nextReply(signal);
      }
    }
    signal?.throwIfAborted();
    return true;
  }

  end(): number {
    if (this.isClosed) return 0;
    const token = this.writerId * END_TOKEN_STRIDE + Math.min(++this.ends, END_TOKEN_STRIDE - 1);
    this.post({ t: 'end', token });
    return token;
  }

  flush(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    const id = ++this.syncs;
    return new Promise<void>((resolve) => {
      this.pendingSyncs.set(id, resolve);
      this.post({ t: 'sync', id });
    });
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.port.onmessage = null;
    this.port.close();
    this.wakeWriters();
    for (const resolve of this.pendingSyncs.values()) resolve();
    this.pendingSyncs.clear();
  }

  private send(samples: Float32Array, offset: number, count: number): void {
    let data: Float32Array | undefined;
    const index = this.pool.findIndex((buffer) => buffer.length >= count);
    if (index >= 0) data = this.pool.splice(index, 1)[0];
    data ??= new Float32Array(count);
    data.set(samples.subarray(offset, offset + count));
    this.inFlightFrames += count;
    this.inFlightChunks++;
    this.post({ t: 'chunk', data, length: count }, [data.buffer as ArrayBuffer]);
  }

  private post(message: DataMessage, transfer: Transferable[] = []): void {
    this.port.postMessage(message, transfer);
  }

  private nextReply(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.wakers.push(done);
      signal?.addEventListener('abort', done);
    });
  }

  private wakeWriters(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  private onReply(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const reply = message as Partial<Record<keyof DataReply | 'data' | 'frames' | 'id', unknown>>;
    if (reply.t === 'ack' && typeof reply.frames === 'number') {
      this.inFlightFrames -= reply.frames;
      this.inFlightChunks--;
      if (reply.data instanceof Float32Array && this.pool.length < POOL_SIZE) this.pool.push(reply.data);
      this.wakeWriters();
    } else if (reply.t === 'synced' && typeof reply.id === 'number') {
      this.pendingSyncs.get(reply.id)?.();
      this.pendingSyncs.delete(reply.id);
    } else if (reply.t === 'stopped') {
      this.close();
    }
  }
}
