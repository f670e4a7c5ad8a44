/**
 * The `AudioPlayer` on a live (real-time) `AudioContext`, in both isolation modes: the transport follows
 * `crossOriginIsolated`, the first chunk is heard before later chunks are written, every written frame reaches the
 * destination exactly once and in order (a recorder worklet taps the output), pause/resume/stop behave, the standalone
 * worklet file works through `workletUrl`, a non-24 kHz context is resampled, and a failing processor surfaces as
 * `ERR_WORKER_CRASHED`. Assertions are on counts and order, never on durations.
 */
import { expect, test } from './fixtures.ts';

test('auto transport, first chunk plays before later ones are written, every frame arrives in order', async ({
  openPage,
  isolated,
}) => {
  const page = await openPage('playback');
  const r = await page.evaluate(() => window.playback.liveStream({ chunkSeconds: [0.5, 0.25, 0.25, 0.25] }));
  expect(r.crossOriginIsolated).toBe(isolated);
  expect(r.transport).toBe(isolated ? 'sab' : 'port');
  expect(r.contextRate).toBe(24000);
  expect(r.playedBeforeSecondWrite).toBeGreaterThan(0);
  expect(r.totalFrames).toBe(30000);
  expect(r.status.framesPlayed).toBe(r.totalFrames);
  expect(r.recorded).toEqual({ count: r.totalFrames, firstMismatch: -1 });
  expect(r.status.state).toBe('idle');
  expect(r.status.bufferedFrames).toBe(0);
  expect(r.underrunEvents.at(-1) ?? 0).toBe(r.status.underruns);
});

test("the standalone worklet file (the package's ./worklet export) works through the workletUrl option", async ({
  openPage,
}) => {
  const page = await openPage('playback');
  const r = await page.evaluate(() =>
    window.playback.liveStream({ chunkSeconds: [0.3, 0.2], workletUrl: '/pages/worklets/playback.worklet.js' }),
  );
  expect(r.status.framesPlayed).toBe(12000);
  expect(r.recorded).toEqual({ count: 12000, firstMismatch: -1 });
});

test('a 48 kHz context: the worklet resamples and still consumes every written frame', async ({ openPage }) => {
  const page = await openPage('playback');
  const r = await page.evaluate(() => window.playback.liveStream({ chunkSeconds: [0.3, 0.2], contextRate: 48000 }));
  expect(r.contextRate).toBe(48000);
  expect(r.status.framesPlayed).toBe(12000);
  expect(r.status.state).toBe('idle');
  // Interpolated output: about two output samples per source frame reached the destination.
  expect(r.recorded.count).toBeGreaterThan(2 * 12000 - 8 * (r.status.underruns + 1));
  expect(r.recorded.count).toBeLessThanOrEqual(2 * 12000);
});

test('own 24 kHz context; pause holds, resume continues, stop flushes and closes old producers; restart; dispose closes', async ({
  openPage,
  isolated,
}) => {
  const page = await openPage('playback');
  const r = await page.evaluate(() => window.playback.liveControl());
  expect(r.transport).toBe(isolated ? 'sab' : 'port');
  expect(r.pausedState).toBe('paused');
  expect(r.playedAtPause).toBeGreaterThan(0);
  expect(r.quantaDuringPause).toBeGreaterThanOrEqual(50);
  expect(r.playedAfterPauseWait).toBe(r.playedAtPause);
  expect(r.playedAfterResume).toBeGreaterThan(r.playedAtPause);
  expect(r.afterStop.state).toBe('idle');
  expect(r.afterStop.stopAck).toBe(1);
  expect(r.afterStop.bufferedFrames).toBe(0);
  expect(r.afterStop.framesPlayed).toBeLessThan(3 * 24000);
  expect(r.staleWriteAccepted).toBe(false);
  expect(r.drainedAfterStop).toBe(true);
  expect(r.afterRestart.framesPlayed).toBe(r.afterStop.framesPlayed + r.restartFrames);
  expect(r.afterRestart.state).toBe('idle');
  expect(r.contextRate).toBe(24000);
  expect(r.contextStateAfterDispose).toBe('closed');
});

test('a processor failure rejects pending and later calls with ERR_WORKER_CRASHED', async ({ openPage }) => {
  const page = await openPage('playback');
  const r = await page.evaluate(() => window.playback.crash());
  expect(r).toEqual({
    onErrorCode: 'ERR_WORKER_CRASHED',
    drainedRejection: 'ERR_WORKER_CRASHED',
    writeRejection: 'ERR_WORKER_CRASHED',
  });
});

test('create() builds its AudioContext synchronously (usable inside a user gesture), at 24 kHz', async ({
  openPage,
}) => {
  const page = await openPage('playback');
  const r = await page.evaluate(() => window.playback.createIsSynchronous());
  expect(r).toEqual({ constructedBeforeAwait: 1, same: true, rate: 24000 });
});

test('worklet loading failures are typed errors (ERR_UNSUPPORTED_ENV)', async ({ openPage }) => {
  const page = await openPage('playback');
  const r = await page.evaluate(() => window.playback.loadFailures());
  expect(r).toEqual({ missing: 'ERR_UNSUPPORTED_ENV', wrongName: 'ERR_UNSUPPORTED_ENV' });
});
