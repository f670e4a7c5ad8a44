/**
 * Lock-free single-producer/single-consumer float32 ring over a `SharedArrayBuffer`, plus the small playback
 * contract shared by every realm that touches it (main thread, workers, the playback worklet).
 *
 * This module is the only one the worklet imports (house style §2), so it must type-check and run with nothing but
 * the ES library: no DOM, no `setTimeout`, no `MessagePort` types.
 *
 * Algorithm: the classic SPSC ring (as published with padenot/ringbuf.js): the data region holds `capacity + 1`
 * slots and one slot always stays empty, so `read === write` means empty and `write + 1 === read` means full
 * without a shared count. The producer owns the write index, the consumer owns the read index; each side only
 * ever `Atomics.store`s its own index after touching the data and `Atomics.load`s the other's before, which
 * orders the plain data accesses (JS atomics are sequentially consistent). Reads and writes are partial: they move
 * as much as fits and return the count, so neither side ever blocks or spins inside these methods.
 *
 * Memory layout of the buffer (little-endian, 4-byte aligned):
 * ```
 * bytes 0 … 127   Int32 header, HEADER_SLOTS slots (see {@link SLOT})
 * bytes 128 …     Float32 data, capacity + 1 slots
 * ```
 */

/** Number of Int32 slots in the header (128 bytes, so the data starts on its own cache line). */
export const HEADER_SLOTS = 32;

/** Byte offset of the sample data inside the shared buffer. */
export const DATA_OFFSET = HEADER_SLOTS * Int32Array.BYTES_PER_ELEMENT;

/** Value of `header[SLOT.magic]`: identifies a ring of this layout version ("TTR1"). */
export const RING_MAGIC = 0x54545231;

/**
 * Header slot indices. Each slot has exactly one writer, named after the arrow; everybody may read.
 *
 * Ring:
 * - `read` ← consumer, `write` ← producer: indices in `[0, capacity]` (data-slot units);
 * - `magic`, `slots` ← whoever allocated the buffer, before sharing it.
 *
 * Playback (used by the `'tts-playback-v1'` worklet, see {@link PLAYBACK_STATES}):
 * - `state`, `underruns`, `framesPlayed`, `quanta`, `events`, `stopAck`, `drained` ← worklet;
 * - `pause`, `stop`, `dispose` ← main thread (the player);
 * - `ended`, `writerEpoch` ← producer.
 *
 * `framesPlayed` and `quanta` are 32-bit counters that wrap (read them with `>>> 0`: 49 h of 24 kHz audio).
 */
export const SLOT = {
  read: 0,
  write: 1,
  magic: 2,
  slots: 3,
  /** Current {@link PlaybackStateCode}. */
  state: 4,
  /** Number of underruns (the ring ran dry while playing, before the end of the stream). */
  underruns: 5,
  /** Source frames taken from the ring and played (silence is not counted). */
  framesPlayed: 6,
  /** Render quanta processed (proves the processor runs, even while silent). */
  quanta: 7,
  /** Bumped and `Atomics.notify`-ed by the worklet on every state transition (waitable). */
  events: 8,
  /** 1 while the main thread asks for a pause. */
  pause: 9,
  /** Stop requests; each increment flushes the ring and invalidates producers opened before it. */
  stop: 10,
  /** The last stop request the worklet has carried out. */
  stopAck: 11,
  /** 1 once the player is disposed: the processor returns `false` and is collected. */
  dispose: 12,
  /** Number of `end()` calls: the end token of the most recent stream end. */
  ended: 13,
  /** The end token the worklet last played out completely (or flushed by a stop). */
  drained: 14,
  /** The `stop` count a producer saw when it opened; data of an older epoch is discarded, never played. */
  writerEpoch: 15,
} as const;

/**
 * Playback states reported by the worklet, by numeric code (index = code).
 *
 * - `idle`: nothing to play (start, after a stream drained, after a stop);
 * - `buffering`: waiting for the pre-roll (also after an underrun);
 * - `playing`: samples flow to the output;
 * - `paused`: paused by the main thread; nothing is consumed.
 */
export const PLAYBACK_STATES = ['idle', 'buffering', 'playing', 'paused'] as const;
/** One of {@link PLAYBACK_STATES}. */
export type PlaybackState = (typeof PLAYBACK_STATES)[number];
/** Numeric code of a {@link PlaybackState} as stored in `header[SLOT.state]`: its index in {@link PLAYBACK_STATES}. */
export type PlaybackStateCode = 0 | 1 | 2 | 3;
/** Code of `'idle'`. */
export const STATE_IDLE = 0 satisfies PlaybackStateCode;
/** Code of `'buffering'`. */
export const STATE_BUFFERING = 1 satisfies PlaybackStateCode;
/** Code of `'playing'`. */
export const STATE_PLAYING = 2 satisfies PlaybackStateCode;
/** Code of `'paused'`. */
export const STATE_PAUSED = 3 satisfies PlaybackStateCode;

/** Registered name of the playback processor. A protocol change is a rename (house style §3). */
export const PROCESSOR_NAME = 'tts-playback-v1';

/** Worklet-side configuration passed as `processorOptions` (validated by the processor constructor). */
export interface PlaybackProcessorOptions {
  /** `'sab'`: read from the ring in `buffer`; `'port'`: receive chunks over attached `MessagePort`s. */
  readonly transport: 'sab' | 'port';
  /** The ring (transport `'sab'` only). */
  readonly buffer?: SharedArrayBuffer;
  /** Sample rate of the written audio; the processor resamples linearly when it differs from the context's. */
  readonly sourceRate: number;
  /** Source frames that must be buffered before playback starts (or restarts after an underrun). */
  readonly prerollFrames: number;
  /** Length of the fade-out on underrun/pause/stop and of the fade-in when resuming, in output frames (0 = none). */
  readonly fadeFrames: number;
  /** Maximum number of queued chunks (transport `'port'` only). */
  readonly queueSlots?: number;
}

/**
 * Messages of the port transport (the fallback without cross-origin isolation).
 *
 * Data port (producer ⇄ worklet, one `MessageChannel` per producer, attached through the node's port):
 * - producer → worklet: `chunk` (its `data` buffer transferred; only the first `length` frames count), `end`, `sync`;
 * - worklet → producer: `ack` (the consumed chunk's buffer transferred back for reuse), `synced`, `stopped`
 *   (the player stopped: the producer is closed, its later messages are dropped).
 *
 * Control (main thread ⇄ worklet, over `AudioWorkletNode.port`):
 * - main → worklet: `attach` (a data port, transferred), `pause`, `stop`, `status?`, `dispose`;
 * - worklet → main: `status` (on every state transition and in reply to `status?`).
 */
export type DataMessage =
  | { readonly t: 'chunk'; readonly data: Float32Array; readonly length: number }
  | { readonly t: 'end'; readonly token: number }
  | { readonly t: 'sync'; readonly id: number };

/** Messages the worklet sends back on a data port. See {@link DataMessage}. */
export type DataReply =
  | { readonly t: 'ack'; readonly data: Float32Array; readonly frames: number }
  | { readonly t: 'synced'; readonly id: number }
  | { readonly t: 'stopped' };

/** Counters of the playback worklet (header slots with the SAB transport, status messages with the port one). */
export interface PlaybackCounters {
  /** Underruns so far (the queue ran dry while playing, before the end of a stream). */
  readonly underruns: number;
  /** Source frames played so far. */
  readonly framesPlayed: number;
  /** Render quanta processed so far (advances while silent too). */
  readonly quanta: number;
  /** Source frames queued and not yet played. */
  readonly bufferedFrames: number;
  /** Latest end token received by the worklet. */
  readonly ended: number;
  /** Latest end token played out completely (or flushed by a stop). */
  readonly drained: number;
  /** Latest stop request carried out. */
  readonly stopAck: number;
}

/** Counters and state as the worklet reports them (port transport); the SAB transport keeps them in the header. */
export interface StatusMessage extends PlaybackCounters {
  readonly t: 'status';
  /** Reply id of a `status?` request, or 0 for a transition report. */
  readonly reply: number;
  readonly state: PlaybackStateCode;
  /** Chunks dropped because the queue was full (a producer ignored backpressure). */
  readonly overflows: number;
}

/** Control messages from the main thread to the worklet (port transport). See {@link DataMessage}. */
export type ControlMessage =
  | { readonly t: 'attach'; readonly port: unknown }
  | { readonly t: 'pause'; readonly paused: boolean }
  | { readonly t: 'stop'; readonly seq: number }
  | { readonly t: 'status?'; readonly id: number }
  | { readonly t: 'dispose' };

/**
 * An SPSC float32 ring in a `SharedArrayBuffer` (or a plain `ArrayBuffer` for single-threaded use and tests).
 *
 * Concurrency roles: **producer** (one thread: calls {@link push}) and **consumer** (one thread: calls {@link pop}
 * and {@link skip}). The available counts are snapshots: by the time the caller acts, the other side may have
 * made more room or more data, never less ("may be late" semantics).
 *
 * `push`, `pop`, `skip`, `availableRead` and `availableWrite` allocate nothing and never throw, so the worklet can
 * call them from `process()`.
 *
 * @example
 * ```ts
 * const buffer = RingBuffer.allocate(24000); // 1 s at 24 kHz
 * const ring = new RingBuffer(buffer);        // in each realm that receives `buffer`
 * ring.push(chunk);                            // producer: returns how many frames fit
 * ring.pop(out);                               // consumer: returns how many frames were read
 * ```
 */
export class RingBuffer {
  /** Usable capacity in frames (the data region holds one slot more). */
  readonly capacity: number;
  /** The Int32 header (indices, counters and flags; see {@link SLOT}). */
  readonly header: Int32Array;
  /** The data region (`capacity + 1` slots). */
  readonly data: Float32Array;
  /** The underlying buffer, to hand to other realms. */
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  private readonly slots: number;

  /**
   * Size in bytes of a ring buffer holding `capacity` frames.
   *
   * @throws {RangeError} when `capacity` is not a positive integer.
   */
  static byteLengthFor(capacity: number): number {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0x3fffffff) {
      throw new RangeError(`RingBuffer capacity must be an integer in [1, 2^30), got ${String(capacity)}`);
    }
    return DATA_OFFSET + (capacity + 1) * Float32Array.BYTES_PER_ELEMENT;
  }

  /**
   * Allocates and initialises a shared ring of `capacity` frames. This part allocates: never call it in the
   * real-time thread.
   *
   * @param shared - `false` makes a plain `ArrayBuffer` (single realm only: tests, or a fallback).
   * @throws {RangeError} for an invalid capacity.
   * @throws {ReferenceError} when `SharedArrayBuffer` is unavailable (not cross-origin isolated).
   */
  static allocate(capacity: number, shared = true): SharedArrayBuffer | ArrayBuffer {
    const bytes = RingBuffer.byteLengthFor(capacity);
    const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    const header = new Int32Array(buffer, 0, HEADER_SLOTS);
    header[SLOT.magic] = RING_MAGIC;
    header[SLOT.slots] = capacity + 1;
    return buffer;
  }

  /**
   * Wraps a buffer made by {@link allocate} (in any realm). Only creates views: the ring's state lives in the buffer.
   *
   * @throws {TypeError} when the buffer was not made by {@link allocate} or its size does not match its header.
   */
  constructor(buffer: SharedArrayBuffer | ArrayBuffer) {
    if (buffer.byteLength < DATA_OFFSET + 2 * Float32Array.BYTES_PER_ELEMENT) {
      throw new TypeError(`RingBuffer: buffer of ${buffer.byteLength} bytes is too small for a ring`);
    }
    this.header = new Int32Array(buffer, 0, HEADER_SLOTS);
    const slots = Atomics.load(this.header, SLOT.slots);
    if (Atomics.load(this.header, SLOT.magic) !== RING_MAGIC || buffer.byteLength !== DATA_OFFSET + slots * 4) {
      throw new TypeError('RingBuffer: the buffer was not made by RingBuffer.allocate() (bad magic or size)');
    }
    this.buffer = buffer;
    this.slots = slots;
    this.capacity = slots - 1;
    this.data = new Float32Array(buffer, DATA_OFFSET, slots);
  }

  /** Frames the consumer can read now. */
  availableRead(): number {
    const read = Atomics.load(this.header, SLOT.read);
    const write = Atomics.load(this.header, SLOT.write);
    return this.used(read, write);
  }

  /** Frames the producer can write now. */
  availableWrite(): number {
    const read = Atomics.load(this.header, SLOT.read);
    const write = Atomics.load(this.header, SLOT.write);
    return this.capacity - this.used(read, write);
  }

  /** True when nothing can be read. */
  isEmpty(): boolean {
    return this.availableRead() === 0;
  }

  /** True when nothing can be written. */
  isFull(): boolean {
    return this.availableWrite() === 0;
  }

  /**
   * Producer: copies up to `length` frames of `source` starting at `offset` into the ring.
   *
   * @returns the number of frames written (less than asked when the ring is full; 0 for invalid ranges).
   */
  push(source: Float32Array, offset = 0, length: number = source.length - offset): number {
    const read = Atomics.load(this.header, SLOT.read);
    const write = Atomics.load(this.header, SLOT.write);
    const free = this.capacity - this.used(read, write);
    let count = length < free ? length : free;
    if (!(count > 0) || offset < 0 || offset + count > source.length) return 0;
    count |= 0;
    const data = this.data;
    const slots = this.slots;
    const first = slots - write < count ? slots - write : count;
    for (let i = 0; i < first; i++) data[write + i] = source[offset + i] as number;
    const rest = count - first;
    for (let i = 0; i < rest; i++) data[i] = source[offset + first + i] as number;
    Atomics.store(this.header, SLOT.write, write + count >= slots ? write + count - slots : write + count);
    return count;
  }

  /**
   * Consumer: moves up to `length` frames out of the ring into `target` starting at `offset`.
   *
   * @returns the number of frames read (less than asked when the ring runs dry; 0 for invalid ranges). The rest of
   * `target` is left untouched: callers that output audio must fill it themselves (never replay stale data).
   */
  pop(target: Float32Array, offset = 0, length: number = target.length - offset): number {
    const read = Atomics.load(this.header, SLOT.read);
    const write = Atomics.load(this.header, SLOT.write);
    const used = this.used(read, write);
    let count = length < used ? length : used;
    if (!(count > 0) || offset < 0 || offset + count > target.length) return 0;
    count |= 0;
    const data = this.data;
    const slots = this.slots;
    const first = slots - read < count ? slots - read : count;
    for (let i = 0; i < first; i++) target[offset + i] = data[read + i] as number;
    const rest = count - first;
    for (let i = 0; i < rest; i++) target[offset + first + i] = data[i] as number;
    Atomics.store(this.header, SLOT.read, read + count >= slots ? read + count - slots : read + count);
    return count;
  }

  /**
   * Consumer: discards up to `length` frames (all readable frames by default) without copying them.
   *
   * @returns the number of frames discarded.
   */
  skip(length = Infinity): number {
    const read = Atomics.load(this.header, SLOT.read);
    const write = Atomics.load(this.header, SLOT.write);
    const used = this.used(read, write);
    const count = length < used ? Math.max(0, Math.floor(length)) : used;
    if (count === 0) return 0;
    Atomics.store(this.header, SLOT.read, read + count >= this.slots ? read + count - this.slots : read + count);
    return count;
  }

  private used(read: number, write: number): number {
    return write >= read ? write - read : write + this.slots - read;
  }
}
