/**
 * SPSC ring logic (single thread): edges, wrap-around, and a long seeded random walk of push/pop sizes that checks
 * the returned counts, the sequence, and canaries around every source and target range and in the header.
 */
import { describe, expect, it } from 'vitest';
import { SLOT } from '../../../src/audio/playback-protocol.ts';
import { DATA_OFFSET, HEADER_SLOTS, RING_MAGIC, RingBuffer } from '../../../src/audio/ring-buffer.ts';
import { prng, seq, seqArray } from './helpers.ts';

const CANARY = 12345.5;

/** Checks canaries before `offset` and after `offset + count`, and the sequence in between; returns a message or null. */
function firstMismatch(target: Float32Array, offset: number, count: number, first: number): string | null {
  for (let i = 0; i < offset; i++) if (target[i] !== CANARY) return `canary ${i} before the range overwritten`;
  for (let i = 0; i < count; i++) {
    if (target[offset + i] !== seq(first + i))
      return `frame ${first + i} is ${target[offset + i]}, expected ${seq(first + i)}`;
  }
  for (let i = offset + count; i < target.length; i++)
    if (target[i] !== CANARY) return `canary ${i} after the range overwritten`;
  return null;
}

describe('RingBuffer layout and validation', () => {
  it('allocates capacity + 1 data slots after a 128-byte header, with magic and slot count set', () => {
    const buffer = RingBuffer.allocate(1000);
    expect(buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(DATA_OFFSET).toBe(HEADER_SLOTS * 4);
    expect(buffer.byteLength).toBe(DATA_OFFSET + 1001 * 4);
    const ring = new RingBuffer(buffer);
    expect(ring.capacity).toBe(1000);
    expect(ring.data.length).toBe(1001);
    expect(ring.header[SLOT.magic]).toBe(RING_MAGIC);
    expect(ring.header[SLOT.slots]).toBe(1001);
    expect(ring.availableRead()).toBe(0);
    expect(ring.availableWrite()).toBe(1000);
  });

  it('rejects invalid capacities and foreign buffers', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31])
      expect(() => RingBuffer.byteLengthFor(bad)).toThrow(RangeError);
    expect(() => new RingBuffer(new SharedArrayBuffer(DATA_OFFSET + 64))).toThrow(/bad magic/);
    expect(() => new RingBuffer(new SharedArrayBuffer(8))).toThrow(/too small/);
    const buffer = RingBuffer.allocate(10);
    new Int32Array(buffer)[SLOT.slots] = 12; // header claims a size the buffer does not have
    expect(() => new RingBuffer(buffer)).toThrow(/bad magic or size/);
  });

  it('views made in another "realm" share the state', () => {
    const buffer = RingBuffer.allocate(8);
    const producer = new RingBuffer(buffer);
    const consumer = new RingBuffer(buffer);
    expect(producer.push(seqArray(0, 5))).toBe(5);
    expect(consumer.availableRead()).toBe(5);
    const out = new Float32Array(5);
    expect(consumer.pop(out)).toBe(5);
    expect(out).toEqual(seqArray(0, 5));
    expect(producer.availableWrite()).toBe(8);
  });

  it('works over a plain ArrayBuffer for single-threaded use', () => {
    const ring = new RingBuffer(RingBuffer.allocate(4, false));
    expect(ring.buffer).toBeInstanceOf(ArrayBuffer);
    expect(ring.push(seqArray(0, 6))).toBe(4);
    const out = new Float32Array(6);
    expect(ring.pop(out)).toBe(4);
    expect(Array.from(out.subarray(0, 4))).toEqual(Array.from(seqArray(0, 4)));
  });
});

describe('RingBuffer edges', () => {
  it('fills to exactly capacity (one slot stays empty), refuses more, and empties to exactly zero', () => {
    const ring = new RingBuffer(RingBuffer.allocate(7));
    expect(ring.isEmpty()).toBe(true);
    expect(ring.push(seqArray(0, 10))).toBe(7); // partial write
    expect(ring.isFull()).toBe(true);
    expect(ring.availableWrite()).toBe(0);
    expect(ring.push(seqArray(7, 3))).toBe(0);
    // read == write would mean empty: with 7 frames in 8 slots, write sits one behind read.
    expect((Atomics.load(ring.header, SLOT.write) + 1) % 8).toBe(ring.header[SLOT.read]);
    const out = new Float32Array(10).fill(CANARY);
    expect(ring.pop(out)).toBe(7);
    expect(Array.from(out.subarray(0, 7))).toEqual(Array.from(seqArray(0, 7)));
    expect(Array.from(out.subarray(7))).toEqual([CANARY, CANARY, CANARY]); // untouched beyond the count
    expect(ring.isEmpty()).toBe(true);
    expect(ring.pop(out)).toBe(0);
  });

  it('wraps around the end of the data region in both push and pop', () => {
    const ring = new RingBuffer(RingBuffer.allocate(7));
    const out = new Float32Array(8);
    expect(ring.push(seqArray(0, 5))).toBe(5);
    expect(ring.pop(out, 0, 5)).toBe(5);
    expect(ring.header[SLOT.read]).toBe(5);
    expect(ring.push(seqArray(5, 6))).toBe(6); // slots 5,6,7,0,1,2
    expect(ring.header[SLOT.write]).toBe(3);
    expect(ring.pop(out, 0, 6)).toBe(6);
    expect(Array.from(out.subarray(0, 6))).toEqual(Array.from(seqArray(5, 6)));
    expect(ring.header[SLOT.read]).toBe(3);
  });

  it('capacity 1 alternates single frames', () => {
    const ring = new RingBuffer(RingBuffer.allocate(1));
    const out = new Float32Array(1);
    for (let i = 0; i < 5; i++) {
      expect(ring.push(seqArray(i, 2))).toBe(1);
      expect(ring.pop(out)).toBe(1);
      expect(out[0]).toBe(seq(i));
    }
  });

  it('ignores invalid ranges (returns 0, moves nothing)', () => {
    const ring = new RingBuffer(RingBuffer.allocate(16));
    const src = seqArray(0, 4);
    expect(ring.push(src, -1, 2)).toBe(0);
    expect(ring.push(src, 3, 5)).toBe(0);
    expect(ring.push(src, 0, Number.NaN)).toBe(0);
    expect(ring.push(src, 4)).toBe(0);
    expect(ring.availableRead()).toBe(0);
    ring.push(src);
    const out = new Float32Array(4);
    expect(ring.pop(out, 2, 3)).toBe(0);
    expect(ring.pop(out, -1, 1)).toBe(0);
    expect(ring.availableRead()).toBe(4);
  });

  it('skip discards from the reader side', () => {
    const ring = new RingBuffer(RingBuffer.allocate(10));
    ring.push(seqArray(0, 9));
    expect(ring.skip(4)).toBe(4);
    const out = new Float32Array(2);
    ring.pop(out);
    expect(Array.from(out)).toEqual(Array.from(seqArray(4, 2)));
    expect(ring.skip()).toBe(3);
    expect(ring.isEmpty()).toBe(true);
    expect(ring.skip()).toBe(0);
  });
});

describe('RingBuffer seeded random walk', () => {
  for (const capacity of [1, 2, 3, 17, 128, 1000]) {
    it(`capacity ${capacity}: counts, order and canaries over 20k random operations`, () => {
      const rand = prng(0xc0ffee + capacity);
      const ring = new RingBuffer(RingBuffer.allocate(capacity));
      // Canaries in the header slots the ring does not own.
      const owned: number[] = [SLOT.read, SLOT.write, SLOT.magic, SLOT.slots];
      for (let s = 0; s < HEADER_SLOTS; s++) if (!owned.includes(s)) ring.header[s] = 0x5a5a0000 + s;
      const pad = 4;
      const maxLen = 2 * capacity + 3;
      const staging = new Float32Array(maxLen + 2 * pad);
      const target = new Float32Array(maxLen + 2 * pad);
      let written = 0;
      let read = 0;
      for (let op = 0; op < 20_000; op++) {
        if (rand.next() < 0.5) {
          const length = rand.int(maxLen + 1);
          const offset = pad + rand.int(2);
          staging.fill(CANARY);
          for (let i = 0; i < length; i++) staging[offset + i] = seq(written + i);
          const expected = Math.min(length, capacity - (written - read));
          expect(ring.availableWrite()).toBe(capacity - (written - read));
          expect(ring.push(staging, offset, length)).toBe(expected);
          written += expected;
        } else {
          const length = rand.int(maxLen + 1);
          const offset = pad + rand.int(2);
          target.fill(CANARY);
          const expected = Math.min(length, written - read);
          expect(ring.availableRead()).toBe(written - read);
          expect(ring.pop(target, offset, length)).toBe(expected);
          const bad = firstMismatch(target, offset, expected, read);
          if (bad !== null) expect.fail(`op ${op}: ${bad}`);
          read += expected;
        }
      }
      expect(read).toBeGreaterThan(capacity * 50);
      for (let s = 0; s < HEADER_SLOTS; s++) if (!owned.includes(s)) expect(ring.header[s]).toBe(0x5a5a0000 + s);
    });
  }
});
