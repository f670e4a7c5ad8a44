/**
 * Body of the `node:worker_threads` threads of ring-threads.test.ts (bundled with esbuild at test time, so the
 * threads run the real ring code). Producer: writes `total` sequence frames in seeded random sizes, with the raw
 * ring (`push` + `Atomics.wait` on the read index) or through `openPlaybackWriter` (its own backpressure) and then
 * `end()`. Consumer: pops random sizes and checks every frame.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openPlaybackWriter } from '../../../src/audio/port-transport.ts';
import { SLOT } from '../../../src/audio/playback-protocol.ts';
import { RingBuffer } from '../../../src/audio/ring-buffer.ts';
import { prng, seq } from './helpers.ts';

interface Job {
  readonly role: 'producer' | 'consumer';
  readonly mode: 'raw' | 'writer';
  readonly buffer: SharedArrayBuffer;
  readonly total: number;
  readonly seed: number;
  readonly maxChunk: number;
}

const job = workerData as Job;
const ring = new RingBuffer(job.buffer);
const rand = prng(job.seed);
const header = ring.header;

async function produce(): Promise<Record<string, number>> {
  const chunk = new Float32Array(job.maxChunk);
  let written = 0;
  let waits = 0;
  const writer =
    job.mode === 'writer'
      ? openPlaybackWriter({ transport: 'sab', buffer: job.buffer, epoch: 0, sampleRate: 24000 })
      : null;
  while (written < job.total) {
    const length = Math.min(1 + rand.int(job.maxChunk), job.total - written);
    for (let i = 0; i < length; i++) chunk[i] = seq(written + i);
    if (writer !== null) {
      if (!(await writer.write(chunk.subarray(0, length)))) throw new Error('writer closed');
      written += length;
    } else {
      let offset = 0;
      while (offset < length) {
        const readIndex = Atomics.load(header, SLOT.read);
        const n = ring.push(chunk, offset, length - offset);
        offset += n;
        if (n > 0) Atomics.notify(header, SLOT.write);
        if (offset < length) {
          waits++;
          Atomics.wait(header, SLOT.read, readIndex, 100);
        }
      }
      written += length;
    }
  }
  const token = writer !== null ? writer.end() : 0;
  Atomics.notify(header, SLOT.write);
  return { written, waits: writer !== null ? writer.waits : waits, token };
}

function consume(): Record<string, number> {
  const target = new Float32Array(job.maxChunk);
  let read = 0;
  let waits = 0;
  let errors = 0;
  let firstError = -1;
  while (read < job.total) {
    const length = 1 + rand.int(job.maxChunk);
    const writeIndex = Atomics.load(header, SLOT.write);
    const n = ring.pop(target, 0, length);
    if (n > 0) Atomics.notify(header, SLOT.read);
    for (let i = 0; i < n; i++) {
      if (target[i] !== seq(read + i)) {
        errors++;
        if (firstError < 0) firstError = read + i;
      }
    }
    read += n;
    if (n === 0) {
      waits++;
      Atomics.wait(header, SLOT.write, writeIndex, 100);
    }
  }
  return { read, waits, errors, firstError, leftover: ring.availableRead() };
}

const result = job.role === 'producer' ? await produce() : consume();
parentPort?.postMessage(result);
