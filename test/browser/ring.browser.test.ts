/**
 * A real producer `Worker` feeding the playback worklet through the descriptor from `AudioPlayer.writer()`: the SAB
 * ring when cross-origin isolated, the transferred `MessagePort` otherwise (chosen automatically). 1.5 s of audio go
 * through a 0.25 s buffer in seeded random chunk sizes, so the producer must wait for room (backpressure) many times;
 * every frame must reach the destination exactly once and in order.
 */
import { expect, test } from './fixtures.ts';

test('worker → worklet: backpressure, every frame once and in order, drained by the worker’s end token', async ({
  openPage,
  isolated,
}) => {
  const page = await openPage('playback');
  const r = await page.evaluate(() => window.playback.workerRing({ seconds: 1.5, bufferSeconds: 0.25, seed: 42 }));
  const transport = isolated ? 'sab' : 'port';
  expect(r.transport).toBe(transport);
  expect(r.producer?.transport).toBe(transport);
  expect(r.totalFrames).toBe(36000);
  expect(r.producer?.written).toBe(36000);
  expect(r.producer?.waits).toBeGreaterThan(0);
  expect(r.status.framesPlayed).toBe(36000);
  expect(r.status.state).toBe('idle');
  expect(r.recorded).toEqual({ count: 36000, firstMismatch: -1 });
  expect(r.underrunEvents.at(-1) ?? 0).toBe(r.status.underruns);
});
