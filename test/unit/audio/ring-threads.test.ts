/**
 * The ring under real concurrency: a producer thread and a consumer thread (`node:worker_threads`) share one
 * `SharedArrayBuffer`; every frame must arrive exactly once and in order, through many wrap-arounds of a small ring
 * and many full/empty waits on both sides. Runs the producer both raw (`push`) and through `openPlaybackWriter`
 * (whose `write` waits with `Atomics.waitAsync`).
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { SLOT } from '../../../src/audio/playback-protocol.ts';
import { RingBuffer } from '../../../src/audio/ring-buffer.ts';

let threadSource = '';

beforeAll(async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./ring-thread.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  threadSource = result.outputFiles[0]?.text ?? '';
});

function runThread(data: Record<string, unknown>): Promise<Record<string, number>> {
  // An ES module worker from a data: URL (top-level await in the thread body needs a module).
  const url = new URL(`data:text/javascript,${encodeURIComponent(threadSource)}`);
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: data });
    let result: Record<string, number> | undefined;
    worker.once('message', (message: Record<string, number>) => {
      result = message;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`thread exited with code ${code} and no result`));
    });
  });
}

describe('RingBuffer across two threads', () => {
  for (const mode of ['raw', 'writer'] as const) {
    it(`${mode} producer: 2M frames through a 1000-frame ring arrive exactly once, in order`, async () => {
      const buffer = RingBuffer.allocate(1000) as SharedArrayBuffer;
      const total = 2_000_000;
      const common = { mode, buffer, total, maxChunk: 700 };
      const [producer, consumer] = await Promise.all([
        runThread({ ...common, role: 'producer', seed: 1 }),
        runThread({ ...common, role: 'consumer', seed: 2 }),
      ]);
      expect(consumer['errors']).toBe(0);
      expect(consumer['firstError']).toBe(-1);
      expect(consumer['read']).toBe(total);
      expect(consumer['leftover']).toBe(0);
      expect(producer['written']).toBe(total);
      // 2M frames through 1000 slots: the producer must have found the ring full (backpressure really happened).
      expect(producer['waits']).toBeGreaterThan(0);
      if (mode === 'writer') expect(producer['token']).toBe(1);
      const ring = new RingBuffer(buffer);
      expect(Atomics.load(ring.header, SLOT.ended)).toBe(mode === 'writer' ? 1 : 0);
      expect(ring.availableRead()).toBe(0);
    });
  }
});
