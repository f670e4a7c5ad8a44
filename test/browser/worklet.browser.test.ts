/**
 * The real `AudioPlayer` and shipped worklet rendered through `OfflineAudioContext` (deterministic: data is written
 * while rendering is suspended at chosen quanta), compared sample by sample with buffers built from the contract:
 * pre-roll, underrun fade-out and count, silence instead of stale data (also across ring wrap-around), fade-in on
 * resume, end → drained, pause/resume/stop, producer invalidation by stop, linear resampling, and counters. Each
 * scenario runs on both transports where the page allows them (the ring needs cross-origin isolation).
 */
import type { OfflineResult, OfflineScenario } from './pages/api.ts';
import { expect, test } from './fixtures.ts';
import { seq } from '../unit/audio/helpers.ts';

const fadeOut = (from: number, fade: number, k: number): number => Math.fround(from * ((fade - k - 1) / fade));
const fadeIn = (x: number, fade: number, k: number): number => (k < fade ? Math.fround(x * ((k + 1) / fade)) : x);

/** An expected output buffer, zeros unless set. */
function expected(frames: number): {
  out: number[];
  set(at: number, count: number, value: (k: number) => number): void;
} {
  const out = new Array<number>(frames).fill(0);
  return {
    out,
    set(at, count, value) {
      for (let k = 0; k < count; k++) out[at + k] = value(k);
    },
  };
}

/** Index and values of the first difference (a readable failure instead of a 4096-element diff). */
function firstDifference(actual: number[], wanted: number[]): string | null {
  if (actual.length !== wanted.length) return `length ${actual.length} ≠ ${wanted.length}`;
  for (let i = 0; i < wanted.length; i++) {
    if (actual[i] !== wanted[i]) return `frame ${i}: got ${actual[i]}, expected ${wanted[i]}`;
  }
  return null;
}

for (const transport of ['sab', 'port'] as const) {
  // the ring transport needs cross-origin isolation: tagged so only the isolated project runs it (playwright.config.ts)
  const tag = transport === 'sab' ? { tag: '@isolated-only' } : {};
  test.describe(`offline render, ${transport} transport`, tag, () => {
    const run = async (
      openPage: (name: string) => Promise<import('@playwright/test').Page>,
      scenario: Omit<OfflineScenario, 'transport'>,
    ): Promise<OfflineResult> => {
      const page = await openPage('playback');
      return page.evaluate((s) => window.playback.offline(s), { ...scenario, transport });
    };

    test('pre-roll, underrun fade + count, silence not stale data (ring wraps), fade-in, end → drained', async ({
      openPage,
    }) => {
      const frames = 4096;
      const r = await run(openPage, {
        contextRate: 24000,
        frames,
        prerollMs: 10,
        fadeMs: 2,
        bufferSeconds: 1024 / 24000,
        actions: [
          { at: 0, do: 'write', start: 0, length: 200 },
          { at: 512, do: 'write', start: 200, length: 800 },
          { at: 2048, do: 'write', start: 1000, length: 300 },
          { at: 3072, do: 'write', start: 1300, length: 50 },
          { at: 3072, do: 'end' },
        ],
      });
      expect([r.prerollFrames, r.fadeFrames, r.capacity]).toEqual([240, 48, 1024]);
      expect(r.written).toEqual([200, 800, 300, 50]);
      const F = 48;
      const e = expected(frames);
      e.set(512, 1000, (k) => seq(k)); // starts once 240 frames are buffered; a stream start is not faded
      e.set(1512, F, (k) => fadeOut(seq(999), F, k)); // ran dry: ramp the last sample down, then silence
      e.set(2048, 300, (k) => fadeIn(seq(1000 + k), F, k)); // after an underrun: fade in
      e.set(2348, F, (k) => fadeOut(seq(1299), F, k));
      e.set(3072, 50, (k) => fadeIn(seq(1300 + k), F, k)); // ended below the pre-roll: plays at once
      e.set(3122, F, (k) => fadeOut(seq(1349), F, k));
      expect(firstDifference(r.output, e.out)).toBeNull();
      expect(r.status.underruns).toBe(2);
      expect(r.status.framesPlayed).toBe(1350);
      expect(r.status.state).toBe('idle');
      expect(r.status.bufferedFrames).toBe(0);
      expect(r.status.quanta).toBe(frames / 128);
      expect(r.endTokens).toHaveLength(1);
      expect(r.status.ended).toBe(r.endTokens[0]);
      expect(r.status.drained).toBe(r.endTokens[0]);
      expect(r.drained).toBe(true);
      expect(r.underrunEvents.at(-1)).toBe(2);
    });

    test('a stream that ran dry before its end mark is drained, and the next stream starts unfaded', async ({
      openPage,
    }) => {
      const frames = 2048;
      const r = await run(openPage, {
        contextRate: 24000,
        frames,
        prerollMs: 10,
        fadeMs: 2,
        bufferSeconds: 1,
        actions: [
          { at: 0, do: 'write', start: 0, length: 300 },
          { at: 512, do: 'end' },
          { at: 1024, do: 'write', start: 300, length: 300 },
          { at: 1024, do: 'end' },
        ],
      });
      const F = 48;
      const e = expected(frames);
      e.set(0, 300, (k) => seq(k));
      e.set(300, F, (k) => fadeOut(seq(299), F, k)); // ran dry before the end mark: an underrun
      e.set(1024, 300, (k) => seq(300 + k)); // a new stream starts as every stream does: not faded
      e.set(1324, F, (k) => fadeOut(seq(599), F, k));
      expect(firstDifference(r.output, e.out)).toBeNull();
      expect(r.status.underruns).toBe(1);
      expect(r.status.framesPlayed).toBe(600);
      expect(r.status.state).toBe('idle');
      expect(r.endTokens).toHaveLength(2);
      expect(r.status.drained).toBe(r.endTokens[1]);
      expect(r.drained).toBe(true);
    });

    test('pause/resume continue without skipping; stop fades, flushes and silences producers opened before it', async ({
      openPage,
    }) => {
      const frames = 3584;
      const r = await run(openPage, {
        contextRate: 24000,
        frames,
        prerollMs: 10,
        fadeMs: 2,
        bufferSeconds: 1,
        actions: [
          { at: 0, do: 'write', start: 0, length: 2000 },
          { at: 512, do: 'pause' },
          { at: 1024, do: 'resume' },
          { at: 1536, do: 'stop' },
          { at: 2048, do: 'stale-write', start: 7000, length: 300 },
          { at: 2560, do: 'write', start: 5000, length: 500 },
        ],
      });
      const F = 48;
      const e = expected(frames);
      e.set(0, 512, (k) => seq(k));
      e.set(512, F, (k) => fadeOut(seq(511), F, k)); // pause: fade out, consume nothing
      e.set(1024, 512, (k) => fadeIn(seq(512 + k), F, k)); // resume exactly where it paused, fading in
      e.set(1536, F, (k) => fadeOut(seq(1023), F, k)); // stop: fade out and flush
      e.set(2560, 500, (k) => seq(5000 + k)); // a new stream after the stop (the stale one is never heard)
      e.set(3060, F, (k) => fadeOut(seq(5499), F, k));
      expect(firstDifference(r.output, e.out)).toBeNull();
      expect(r.stale).toEqual([[0, false]]); // the old producer is closed by the stop
      expect(r.status.stopAck).toBe(1);
      expect(r.status.framesPlayed).toBe(1524);
      expect(r.status.underruns).toBe(1);
      expect(r.status.state).toBe('buffering');
    });

    test('a 48 kHz context plays 24 kHz audio by linear interpolation and consumes every frame', async ({
      openPage,
    }) => {
      const frames = 2560;
      const r = await run(openPage, {
        contextRate: 48000,
        frames,
        prerollMs: 0,
        fadeMs: 0,
        bufferSeconds: 1,
        actions: [
          { at: 0, do: 'write', start: 0, length: 1000 },
          { at: 0, do: 'end' },
        ],
      });
      const e = expected(frames);
      e.set(0, 1998, (j) => {
        const i = Math.floor(j / 2);
        const a = seq(i);
        return Math.fround(a + (seq(i + 1) - a) * (j / 2 - i));
      });
      expect(firstDifference(r.output, e.out)).toBeNull();
      expect(r.status.framesPlayed).toBe(1000);
      expect(r.status.state).toBe('idle');
      expect(r.drained).toBe(true);
      expect(r.status.underruns).toBe(0);
    });
  });
}

test(
  'the ring transport is refused without cross-origin isolation (ERR_NOT_ISOLATED)',
  { tag: '@not-isolated-only' },
  async ({ openPage }) => {
    const page = await openPage('playback');
    const code = await page.evaluate(async () => {
      try {
        await window.playback.offline({
          transport: 'sab',
          contextRate: 24000,
          frames: 128,
          prerollMs: 0,
          fadeMs: 0,
          bufferSeconds: 1,
          actions: [],
        });
        return 'resolved';
      } catch (error) {
        return (error as { code?: string }).code ?? String(error);
      }
    });
    expect(code).toBe('ERR_NOT_ISOLATED');
  },
);
