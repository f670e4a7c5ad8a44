/**
 * Lock-free single-producer/single-consumer float32 ring over a `SharedArrayBuffer` — only the ring: what the
 * playback worklet keeps in the rest of the header, and the messages of the port transport, are the playback
 * protocol (`playback-protocol.ts`), as ringbuf.js keeps its ring apart from the audio code that uses it.
 *
 * The worklet imports this module, so it must type-check and run with nothing but the ES library: no DOM, no
 * `setTimeout`, no `MessagePort` types.
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
 * Header slots of the ring itself; slots from {@link RING_SLOTS_END} on are free for the user of the ring (the
 * playback protocol keeps its counters and flags there).
 *
 * - `read` ← consumer, `write` ← producer: indices in `[0, capacity]` (data-slot units);
 * - `magic`, `slots` ← whoever allocated the buffer, before sharing it.
 */
export const RING_SLOT = {
  read: 0,
  write: 1,
  magic: 2,
  slots: 3,
} as const;

/** First header slot not used by the ring. */
export const RING_SLOTS_END = 4;

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
  /** The Int32 header (indices, counters and flags; see {@link RING_SLOT}). */
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
    header[RING_SLOT.magic] = RING_MAGIC;
    header[RING_SLOT.slots] = capacity + 1;
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
    const slots = Atomics.load(this.header, RING_SLOT.slots);
    if (Atomics.load(this.header, RING_SLOT.magic) !== RING_MAGIC || buffer.byteLength !== DATA_OFFSET + slots * 4) {
      throw new TypeError('RingBuffer: the buffer was not made by RingBuffer.allocate() (bad magic or size)');
    }
    this.buffer = buffer;
    this.slots = slots;
    this.capacity = slots - 1;
    this.data = new Float32Array(buffer, DATA_OFFSET, slots);
  }

  /** Frames the consumer can read now. */
  availableRead(): number {
    const read = Atomics.load(this.header, RING_SLOT.read);
    const write = Atomics.load(this.header, RING_SLOT.write);
    return this.used(read, write);
  }

  /** Frames the producer can write now. */
  availableWrite(): number {
    const read = Atomics.load(this.header, RING_SLOT.read);
    const write = Atomics.load(this.header, RING_SLOT.write);
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
    const read = Atomics.load(this.header, RING_SLOT.read);
    const write = Atomics.load(this.header, RING_SLOT.write);
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
    Atomics.store(this.header, RING_SLOT.write, write + count >= slots ? write + count - slots : write + count);
    return count;
  }

  /**
   * Consumer: moves up to `length` frames out of the ring into `target` starting at `offset`.
   *
   * @returns the number of frames read (less than asked when the ring runs dry; 0 for invalid ranges). The rest of
   * `target` is left untouched: callers that output audio must fill it themselves (never replay stale data).
   */
  pop(target: Float32Array, offset = 0, length: number = target.length - offset): number {
    const read = Atomics.load(this.header, RING_SLOT.read);
    const write = Atomics.load(this.header, RING_SLOT.write);
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
    Atomics.store(this.header, RING_SLOT.read, read + count >= slots ? read + count - slots : read + count);
    return count;
  }

  /**
   * Consumer: discards up to `length` frames (all readable frames by default) without copying them.
   *
   * @returns the number of frames discarded.
   */
  skip(length = Infinity): number {
    const read = Atomics.load(this.header, RING_SLOT.read);
    const write = Atomics.load(this.header, RING_SLOT.write);
    const used = this.used(read, write);
    const count = length < used ? Math.max(0, Math.floor(length)) : used;
    if (count === 0) return 0;
    Atomics.store(this.header, RING_SLOT.read, read + count >= this.slots ? read + count - this.slots : read + count);
    return count;
  }

  private used(read: number, write: number): number {
    return write >= read ? write - read : write + this.slots - read;
  }
}
