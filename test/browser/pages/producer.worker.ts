/**
 * Test producer worker: opens the writer described by the page (`AudioPlayer.writer()`, SAB ring or transferred
 * port), writes `seq(0 … total)` in seeded random chunk sizes with backpressure, ends the stream and reports.
 */
import { openPlaybackWriter, type PlaybackWriterDescriptor } from '../../../src/audio/port-transport.ts';
import { prng, seqArray } from '../../unit/audio/helpers.ts';

interface Job {
  readonly descriptor: PlaybackWriterDescriptor;
  readonly total: number;
  readonly seed: number;
  readonly maxChunk: number;
}

self.onmessage = async (event: MessageEvent<Job>) => {
  const { descriptor, total, seed, maxChunk } = event.data;
  const writer = openPlaybackWriter(descriptor);
  const rand = prng(seed);
  let written = 0;
  while (written < total) {
    const length = Math.min(1 + rand.int(maxChunk), total - written);
    if (!(await writer.write(seqArray(written, length)))) break;
    written += length;
  }
  const token = writer.end();
  await writer.flush();
  self.postMessage({ token, waits: writer.waits, written, transport: writer.transport });
};
